<?php
// moodle-regress: course content on a LOCAL sandbox, made with Moodle's own data
// generators (the testing generators Behat and PHPUnit use, as admin/tool/generator
// does), in one run for a whole plan (or one part of it).
//
// Input, JSON on stdin: {"config": "<path of config.php>", "action": ACTION, ...}
//   probe    -> the site's activity modules (installed, enabled, with a generator),
//               question types, whether course question banks are qbank activities.
//   apply    -> {"enable_modules": [...], "courses": [COURSE...]}, each COURSE:
//               {"shortname", "bank": [CATEGORY...], "activities": [ACTIVITY...],
//                "work": {"attempts", "submissions", "grades", "posts", "responses",
//                         "completions", "overrides"}}
//               A course that tracks completion and has activities of the plan with
//               completion tracking gets course completion criteria (those activities,
//               all required), and its students whose criteria are all met are marked
//               complete, as Moodle's completion task would.
//               Everything is found again by natural key (activity idnumber within the
//               course, question category and question idnumbers within the bank, one
//               attempt / submission / grade / response / completion per user and
//               activity, discussion subject within the forum): a second run makes
//               nothing new.  Each course is one database transaction, so a run stopped
//               half-way leaves whole courses or nothing of them.
//   cleanup  -> {"prefix": "mr-<tag>-", "courses": [shortname...]}: deletes the tagged
//               activities and question categories (with their questions) of courses
//               that are not themselves deleted by the cleanup (untagged courses).
//   banks    -> {"courses": [shortname...]}: question bank contents per course, and the
//               site's activity modules enabled or not, for observation (no web-service
//               function lists questions or modules).
// Output: the result line of lib/common.php (see moodle_regress/phprun.py).

define('CLI_SCRIPT', true);
require(__DIR__ . '/lib/site.php');

require_once($CFG->libdir . '/clilib.php');
require_once($CFG->libdir . '/questionlib.php');
require_once($CFG->libdir . '/completionlib.php');
require_once($CFG->dirroot . '/completion/criteria/completion_criteria_activity.php');
require_once($CFG->libdir . '/gradelib.php');
require_once($CFG->dirroot . '/course/lib.php');
require_once($CFG->dirroot . '/course/modlib.php');
require_once($CFG->dirroot . '/lib/phpunit/classes/util.php');

\core\session\manager::set_user(get_admin());
raise_memory_limit(MEMORY_HUGE);
core_php_time_limit::raise();

/** Counters of what was made, what was there and what this site cannot have. */
final class mr_counts {
    /** @var array<string, array<string, int>> */
    public array $counts = [];
    /** @var string[] */
    public array $notes = [];
    /** @var array<string, float> */
    public array $seconds = [];

    public function add(string $kind, string $what, int $amount = 1): void {
        $this->counts[$kind] = $this->counts[$kind] ?? ['created' => 0, 'existing' => 0, 'unavailable' => 0];
        $this->counts[$kind][$what] += $amount;
    }

    public function note(string $note): void {
        if (!in_array($note, $this->notes, true)) {
            $this->notes[] = $note;
        }
    }

    public function time(string $kind, float $started): void {
        $this->seconds[$kind] = ($this->seconds[$kind] ?? 0) + microtime(true) - $started;
    }
}

/** The module names of this site: installed, enabled, and whether they have a data generator. */
function mr_modules(): array {
    global $DB;
    $installed = $DB->get_records_menu('modules', null, 'name', 'name, visible');
    $standard = core_plugin_manager::standard_plugins_list('mod') ?: [];
    $modules = [];
    foreach (core_component::get_plugin_list('mod') as $name => $dir) {
        if (!array_key_exists($name, $installed)) {
            continue;
        }
        $modules[] = [
            'name' => $name,
            'enabled' => (bool) $installed[$name],
            'generator' => file_exists("$dir/tests/generator/lib.php"),
            'standard' => in_array($name, $standard, true),
        ];
    }
    return $modules;
}

function mr_probe(): array {
    global $CFG;
    return [
        'release' => $CFG->release,
        'branch' => (string) $CFG->branch,
        'modules' => mr_modules(),
        'qtypes' => array_values(array_keys(question_bank::get_creatable_qtypes())),
        // From 5.0, course question banks are qbank activities.
        'qbank_activities' => class_exists('\core_question\local\bank\question_bank_helper')
            && method_exists('\core_question\local\bank\question_bank_helper', 'get_default_open_instance_system_type'),
        'completion' => !empty($CFG->enablecompletion),
    ];
}

// --- question banks ------------------------------------------------------------------

/** The context of a course's question bank: the course (4.5), or its shared qbank activity (5.0+). */
function mr_bank_context(stdClass $course, bool $create): ?context {
    if (!class_exists('\core_question\local\bank\question_bank_helper')
            || !method_exists('\core_question\local\bank\question_bank_helper', 'get_default_open_instance_system_type')) {
        return context_course::instance($course->id);
    }
    $helper = '\core_question\local\bank\question_bank_helper';
    $bank = $helper::get_default_open_instance_system_type($course);
    if (!$bank && $create) {
        // The same bank the 5.0 upgrade makes for a course's questions (mod_qbank's
        // transfer_question_categories): a seeded site looks like an upgraded one.
        $name = $helper::get_bank_name_string('sharedbank', 'mod_qbank', $course->shortname);
        $bank = $helper::create_default_open_instance($course, $name, $helper::TYPE_SYSTEM);
    }
    return $bank ? context_module::instance($bank->id) : null;
}

/** Question form data for one of the common question types, from the plan's content. */
function mr_question_form(array $q): stdClass {
    $html = fn(string $text) => ['text' => $text, 'format' => FORMAT_HTML];
    $form = (object) [
        'name' => $q['name'],
        'questiontext' => $html($q['text']),
        'generalfeedback' => $html($q['feedback'] ?? ''),
        'defaultmark' => $q['mark'] ?? 1,
        'penalty' => 0.3333333,
        'idnumber' => $q['idnumber'],
        'status' => \core_question\local\bank\question_version_status::QUESTION_STATUS_READY,
    ];
    $answers = $q['answers'] ?? [];
    $combined = function (stdClass $form) use ($html) {
        $form->correctfeedback = $html('Your answer is correct.');
        $form->partiallycorrectfeedback = $html('Your answer is partially correct.');
        $form->incorrectfeedback = $html('Your answer is incorrect.');
        $form->shownumcorrect = 1;
    };
    switch ($q['qtype']) {
        case 'multichoice':
            $form->single = '1';
            $form->shuffleanswers = 1;
            $form->answernumbering = 'abc';
            $form->showstandardinstruction = 0;
            $form->noanswers = count($answers);
            $form->answer = array_map(fn($a) => ['text' => $a, 'format' => FORMAT_PLAIN], $answers);
            $form->fraction = array_map(fn($i) => $i === 0 ? '1.0' : '0.0', array_keys($answers));
            $form->feedback = array_map(fn($a) => $html(''), $answers);
            $combined($form);
            break;
        case 'truefalse':
            $form->correctanswer = !empty($q['correct']) ? '1' : '0';
            $form->feedbacktrue = $html('');
            $form->feedbackfalse = $html('');
            $form->penalty = 1;
            $form->showstandardinstruction = 0;
            break;
        case 'shortanswer':
            $form->usecase = 0;
            $form->answer = [$answers[0], '*'];
            $form->fraction = ['1.0', '0.0'];
            $form->feedback = [$html(''), $html('')];
            break;
        case 'numerical':
            $form->noanswers = 1;
            $form->answer = [$answers[0]];
            $form->tolerance = [0];
            $form->fraction = ['1.0'];
            $form->feedback = [$html('')];
            $form->unitrole = '3';
            $form->unitpenalty = 0.1;
            $form->unitgradingtypes = '1';
            $form->unitsleft = '0';
            $form->nounits = 1;
            $form->multiplier = ['1.0'];
            break;
        case 'essay':
            $form->responseformat = 'editor';
            $form->responserequired = 1;
            $form->responsefieldlines = 10;
            $form->attachments = 0;
            $form->attachmentsrequired = 0;
            $form->maxbytes = 0;
            $form->filetypeslist = '';
            $form->graderinfo = $html('');
            $form->responsetemplate = $html('');
            $form->minwordlimit = 0;
            $form->maxwordlimit = 0;
            break;
        case 'match':
            $form->shuffleanswers = 1;
            $form->subquestions = [];
            $form->subanswers = [];
            foreach ($answers as $pair) {
                $form->subquestions[] = $html($pair[0]);
                $form->subanswers[] = $pair[1];
            }
            $form->noanswers = count($answers);
            $combined($form);
            break;
        default:
            throw new coding_exception("question type {$q['qtype']} is not one moodle-regress makes");
    }
    return $form;
}

/** Make the course's question categories and questions that are missing. */
function mr_bank(stdClass $course, array $categories, mr_counts $out): void {
    global $DB;
    if (!$categories) {
        return;
    }
    $started = microtime(true);
    $context = mr_bank_context($course, true);
    $qgen = phpunit_util::get_data_generator()->get_plugin_generator('core_question');
    $qtypes = question_bank::get_creatable_qtypes();
    $byidnumber = [];
    foreach ($categories as $cat) {
        $existing = $DB->get_record('question_categories', ['contextid' => $context->id, 'idnumber' => $cat['idnumber']]);
        if ($existing) {
            $out->add('question_categories', 'existing');
        } else {
            $record = ['contextid' => $context->id, 'name' => $cat['name'], 'info' => $cat['info'] ?? '',
                'idnumber' => $cat['idnumber']];
            if (!empty($cat['parent']) && isset($byidnumber[$cat['parent']])) {
                $record['parent'] = $byidnumber[$cat['parent']]->id;
            }
            $existing = $qgen->create_question_category($record);
            $out->add('question_categories', 'created');
        }
        $byidnumber[$cat['idnumber']] = $existing;
        foreach ($cat['questions'] as $q) {
            if (!isset($qtypes[$q['qtype']])) {
                $out->add('questions', 'unavailable');
                $out->note("question type {$q['qtype']} is not installed (or not enabled) on the site");
                continue;
            }
            if ($DB->record_exists('question_bank_entries',
                    ['questioncategoryid' => $existing->id, 'idnumber' => $q['idnumber']])) {
                $out->add('questions', 'existing');
                continue;
            }
            $question = (object) ['category' => $existing->id, 'qtype' => $q['qtype'],
                'createdby' => get_admin()->id, 'idnumber' => $q['idnumber'],
                'status' => \core_question\local\bank\question_version_status::QUESTION_STATUS_READY];
            $form = mr_question_form($q);
            $form->category = $existing->id . ',' . $existing->contextid;
            question_bank::get_qtype($q['qtype'])->save_question($question, $form);
            $out->add('questions', 'created');
        }
    }
    $out->time('questions', $started);
}

/** question id -> the latest version's question id, by question idnumber, in the course's bank. */
function mr_questions_by_idnumber(stdClass $course): array {
    global $DB;
    $context = mr_bank_context($course, false);
    if (!$context) {
        return [];
    }
    $sql = "SELECT qbe.idnumber, q.id
              FROM {question_bank_entries} qbe
              JOIN {question_categories} qc ON qc.id = qbe.questioncategoryid
              JOIN {question_versions} qv ON qv.questionbankentryid = qbe.id
              JOIN {question} q ON q.id = qv.questionid
             WHERE qc.contextid = :contextid AND qbe.idnumber IS NOT NULL
          ORDER BY qv.version";
    $ids = [];
    foreach ($DB->get_recordset_sql($sql, ['contextid' => $context->id]) as $row) {
        $ids[$row->idnumber] = (int) $row->id;
    }
    return $ids;
}

// --- activities ----------------------------------------------------------------------

/** A file in the admin's draft area, for an activity's file manager field. */
function mr_draft_files(array $files): int {
    global $USER;
    $itemid = file_get_unused_draft_itemid();
    $fs = get_file_storage();
    foreach ($files as $file) {
        $fs->create_file_from_string(['component' => 'user', 'filearea' => 'draft',
            'contextid' => context_user::instance($USER->id)->id, 'itemid' => $itemid,
            'filepath' => '/', 'filename' => $file['name']], $file['content']);
    }
    return $itemid;
}

/** The module record for the generator: common fields, dates relative to the course start, module content. */
function mr_module_record(stdClass $course, array $a): array {
    $record = [
        'course' => $course->id,
        'idnumber' => $a['idnumber'],
        'name' => $a['name'],
        'intro' => $a['intro'] ?? '',
        'introformat' => FORMAT_HTML,
        'section' => (int) ($a['section'] ?? 0),
        'visible' => !empty($a['visible']) ? 1 : 0,
    ];
    foreach ($a['settings'] ?? [] as $name => $value) {
        $record[$name] = $value;
    }
    foreach ($a['dates'] ?? [] as $name => $days) {
        $record[$name] = (int) $course->startdate + (int) round($days * DAYSECS);
    }
    if (!empty($a['completion']) && !empty($course->enablecompletion)) {
        $record['completion'] = (int) $a['completion'];
        $rules = $a['completion_rules'] ?? [];
        if (!empty($rules['completionview'])
                && !plugin_supports('mod', $a['modname'], FEATURE_COMPLETION_TRACKS_VIEWS, false)) {
            // Completed by viewing is not something this module tracks: the student marks it.
            unset($rules['completionview']);
            $record['completion'] = $rules ? COMPLETION_TRACKING_AUTOMATIC : COMPLETION_TRACKING_MANUAL;
        }
        foreach ($rules as $name => $value) {
            $record[$name] = $value;
        }
    }
    $content = $a['content'] ?? [];
    switch ($a['modname']) {
        case 'page':
            $record['content'] = $content['html'] ?? '';
            $record['contentformat'] = FORMAT_HTML;
            break;
        case 'url':
            $record['externalurl'] = $content['url'] ?? 'https://moodle.org/';
            break;
        case 'resource':
        case 'folder':
            $record['files'] = mr_draft_files($content['files'] ?? []);
            break;
        case 'choice':
            $record['option'] = $content['options'] ?? ['Yes', 'No'];
            break;
        case 'assign':
            $record += ['assignsubmission_onlinetext_enabled' => 1, 'assignsubmission_file_enabled' => 0,
                'assignfeedback_comments_enabled' => 1, 'submissiondrafts' => 0];
            break;
        case 'lti':
            // No live tool: the activity exists, launching it fails as it would on a site
            // whose tool went away.
            $record += ['toolurl' => $content['url'] ?? 'https://lti.example.com/launch'];
            break;
        case 'wiki':
            $record += ['firstpagetitle' => $content['first_page'] ?? $a['name'], 'wikimode' => 'collaborative'];
            break;
    }
    return $record;
}

/** Module content beyond the instance: chapters, entries, pages, quiz questions... */
function mr_module_content(stdClass $course, stdClass $instance, array $a, array $questions, mr_counts $out): void {
    $gen = phpunit_util::get_data_generator();
    $content = $a['content'] ?? [];
    switch ($a['modname']) {
        case 'book':
            foreach ($content['chapters'] ?? [] as $n => $chapter) {
                $gen->get_plugin_generator('mod_book')->create_chapter(['bookid' => $instance->id,
                    'title' => $chapter['title'], 'content' => $chapter['content'], 'pagenum' => $n + 1]);
            }
            break;
        case 'glossary':
            foreach ($content['entries'] ?? [] as $entry) {
                $gen->get_plugin_generator('mod_glossary')->create_content($instance,
                    ['concept' => $entry['concept'], 'definition' => $entry['definition'], 'approved' => 1]);
            }
            break;
        case 'wiki':
            $gen->get_plugin_generator('mod_wiki')->create_first_page($instance,
                ['content' => $content['html'] ?? '']);
            break;
        case 'lesson':
            $lessongen = $gen->get_plugin_generator('mod_lesson');
            $lessongen->create_question_truefalse($instance);
            $lessongen->create_content($instance, ['title' => $a['name'],
                'contents_editor' => ['text' => $content['html'] ?? '', 'format' => FORMAT_HTML, 'itemid' => 0]]);
            break;
        case 'feedback':
            $feedbackgen = $gen->get_plugin_generator('mod_feedback');
            $feedbackgen->create_item_multichoice($instance, ['name' => 'How useful was this course?',
                'label' => 'useful', 'values' => "Very\nSomewhat\nNot at all"]);
            $feedbackgen->create_item_textarea($instance, ['name' => 'What would you change?', 'label' => 'change']);
            break;
        case 'data':
            $field = $gen->get_plugin_generator('mod_data')->create_field(
                (object) ['name' => 'title', 'type' => 'text', 'description' => 'Title'], $instance);
            foreach ($content['entries'] ?? [] as $entry) {
                $gen->get_plugin_generator('mod_data')->create_entry($instance, [$field->field->id => $entry['concept']]);
            }
            break;
        case 'quiz':
            mr_quiz_questions($instance, $content['questions'] ?? [], $questions, $out);
            break;
    }
}

function mr_quiz_questions(stdClass $quiz, array $wanted, array $questions, mr_counts $out): void {
    global $CFG;
    require_once($CFG->dirroot . '/mod/quiz/locallib.php');
    $page = 1;
    foreach ($wanted as $idnumber) {
        if (!isset($questions[$idnumber])) {
            $out->note("quiz {$quiz->name}: question $idnumber is not in the course's bank");
            continue;
        }
        quiz_add_quiz_question($questions[$idnumber], $quiz, $page++);
    }
    \mod_quiz\quiz_settings::create($quiz->id)->get_grade_calculator()->recompute_quiz_sumgrades();
}

/** Make the course's activities that are missing; returns idnumber -> course module. */
function mr_activities(stdClass $course, array $activities, array $modules, mr_counts $out): array {
    global $DB;
    $started = microtime(true);
    $gen = phpunit_util::get_data_generator();
    $byname = array_column($modules, null, 'name');
    $questions = null;
    $existing = $DB->get_records_menu('course_modules', ['course' => $course->id], '', 'idnumber, id');
    foreach ($activities as $a) {
        $modname = $a['modname'];
        if (isset($existing[$a['idnumber']])) {
            $out->add('activities', 'existing');
            continue;
        }
        $module = $byname[$modname] ?? null;
        if (!$module || !$module['enabled'] || !$module['generator']) {
            $out->add('activities', 'unavailable');
            $why = !$module ? 'not installed' : (!$module['enabled'] ? 'disabled (the plan can enable it: '
                . 'enable_modules)' : 'without a data generator (tests/generator/lib.php)');
            $out->note("mod_$modname is $why on this site: its activities are not made");
            continue;
        }
        if ($modname === 'quiz' && $questions === null) {
            $questions = mr_questions_by_idnumber($course);
        }
        $instance = $gen->create_module($modname, mr_module_record($course, $a));
        mr_module_content($course, $instance, $a, $questions ?? [], $out);
        $existing[$a['idnumber']] = $instance->cmid;
        $out->add('activities', 'created');
    }
    $out->time('activities', $started);
    return $existing;
}

// --- what students and teachers did --------------------------------------------------

/** One cache of users by username for the whole run. */
function mr_user(string $username): ?stdClass {
    static $users = [];
    global $DB;
    if (!array_key_exists($username, $users)) {
        $users[$username] = $DB->get_record('user', ['username' => $username, 'deleted' => 0]) ?: null;
    }
    return $users[$username];
}

/** The activity's course module and instance, or null with a note. */
function mr_cm(stdClass $course, array $cms, string $idnumber, string $modname, mr_counts $out, string $kind): ?cm_info {
    if (!isset($cms[$idnumber])) {
        $out->add($kind, 'unavailable');
        $out->note("$kind: activity $idnumber is not on the site");
        return null;
    }
    $cm = get_fast_modinfo($course)->get_cm($cms[$idnumber]);
    if ($cm->modname !== $modname) {
        throw new coding_exception("activity $idnumber is a {$cm->modname}, not a $modname");
    }
    return $cm;
}

/** Response data for one question: the right answer, or a wrong one. */
function mr_response(question_attempt $qa, bool $right): array {
    $question = $qa->get_question();
    $correct = $question->get_correct_response() ?: [];
    if ($right) {
        return $correct;
    }
    $wrong = [];
    foreach ($correct as $name => $value) {
        if ($question instanceof qtype_multichoice_single_question) {
            $wrong[$name] = (string) (((int) $value + 1) % count($question->answers));
        } else if ($question instanceof qtype_truefalse_question) {
            $wrong[$name] = $value ? '0' : '1';
        } else if ($question instanceof qtype_numerical_question) {
            $wrong[$name] = (string) ((float) $value + 7);
        } else if ($question instanceof qtype_match_question) {
            // Every stem matched with the next stem's choice.
            $values = array_values($correct);
            $index = array_search($name, array_keys($correct), true);
            $wrong[$name] = $values[($index + 1) % count($values)];
        } else {
            $wrong[$name] = is_numeric($value) ? '0' : 'not ' . $value;
        }
    }
    return $wrong;
}

function mr_attempts(stdClass $course, array $cms, array $attempts, mr_counts $out): void {
    global $CFG, $DB, $USER;
    if (!$attempts) {
        return;
    }
    require_once($CFG->dirroot . '/mod/quiz/locallib.php');
    $started = microtime(true);
    $quizgen = phpunit_util::get_data_generator()->get_plugin_generator('mod_quiz');
    foreach ($attempts as $spec) {
        $cm = mr_cm($course, $cms, $spec['quiz'], 'quiz', $out, 'quiz_attempts');
        $user = mr_user($spec['user']);
        if (!$cm || !$user) {
            $user || $out->add('quiz_attempts', 'unavailable');
            continue;
        }
        if ($DB->record_exists('quiz_attempts', ['quiz' => $cm->instance, 'userid' => $user->id, 'preview' => 0])) {
            $out->add('quiz_attempts', 'existing');
            continue;
        }
        \core\session\manager::set_user($user);
        $attempt = $quizgen->create_attempt($cm->instance, $user->id);
        $attemptobj = \mod_quiz\quiz_attempt::create($attempt->id);
        $postdata = [];
        foreach ($attemptobj->get_slots() as $index => $slot) {
            $qa = $attemptobj->get_question_attempt($slot);
            $postdata[$qa->get_control_field_name('sequencecheck')] = (string) $qa->get_sequence_check_count();
            $postdata[$qa->get_flag_field_name()] = '0';
            foreach (mr_response($qa, !empty($spec['right'][$index])) as $name => $value) {
                $postdata[$qa->get_qt_field_name($name)] = (string) $value;
            }
        }
        $attemptobj->process_submitted_actions(time(), false, $postdata);
        if (!empty($spec['finished'])) {
            if (method_exists($attemptobj, 'process_submit')) {
                $attemptobj->process_submit(time(), false);
                $attemptobj->process_grade_submission(time());
            } else {
                $attemptobj->process_finish(time(), false);
            }
        }
        $out->add('quiz_attempts', 'created');
    }
    \core\session\manager::set_user(get_admin());
    $out->time('quiz_attempts', $started);
}

function mr_assign(stdClass $course, cm_info $cm): assign {
    global $CFG;
    require_once($CFG->dirroot . '/mod/assign/locallib.php');
    static $assigns = [];
    if (!isset($assigns[$cm->id])) {
        $assigns[$cm->id] = new assign($cm->context, $cm, $course);
    }
    return $assigns[$cm->id];
}

function mr_submissions(stdClass $course, array $cms, array $submissions, mr_counts $out): void {
    global $DB;
    $started = microtime(true);
    foreach ($submissions as $spec) {
        $cm = mr_cm($course, $cms, $spec['assign'], 'assign', $out, 'assign_submissions');
        $user = mr_user($spec['user']);
        if (!$cm || !$user) {
            continue;
        }
        $done = $DB->record_exists_select('assign_submission',
            "assignment = :a AND userid = :u AND latest = 1 AND status <> 'new'",
            ['a' => $cm->instance, 'u' => $user->id]);
        if ($done) {
            $out->add('assign_submissions', 'existing');
            continue;
        }
        \core\session\manager::set_user($user);
        $assign = mr_assign($course, $cm);
        $data = (object) ['userid' => $user->id,
            'onlinetext_editor' => ['text' => $spec['text'], 'format' => FORMAT_HTML, 'itemid' => file_get_unused_draft_itemid()]];
        $notices = [];
        $assign->save_submission($data, $notices);
        if (!empty($spec['submitted'])) {
            $assign->submit_for_grading((object) ['userid' => $user->id, 'submissionstatement' => 1], $notices);
        }
        $out->add('assign_submissions', 'created');
    }
    \core\session\manager::set_user(get_admin());
    $out->time('assign_submissions', $started);
}

function mr_grades(stdClass $course, array $cms, array $grades, mr_counts $out): void {
    global $DB;
    $started = microtime(true);
    foreach ($grades as $spec) {
        $cm = mr_cm($course, $cms, $spec['assign'], 'assign', $out, 'assign_grades');
        $user = mr_user($spec['user']);
        if (!$cm || !$user) {
            continue;
        }
        if ($DB->record_exists_select('assign_grades', 'assignment = :a AND userid = :u AND grade >= 0',
                ['a' => $cm->instance, 'u' => $user->id])) {
            $out->add('assign_grades', 'existing');
            continue;
        }
        $data = (object) ['grade' => $spec['grade'], 'attemptnumber' => -1, 'addattempt' => 0, 'applytoall' => 0,
            'assignfeedbackcomments_editor' => ['text' => $spec['feedback'] ?? '', 'format' => FORMAT_HTML]];
        mr_assign($course, $cm)->save_grade($user->id, $data);
        $out->add('assign_grades', 'created');
    }
    $out->time('assign_grades', $started);
}

function mr_posts(stdClass $course, array $cms, array $posts, mr_counts $out): void {
    global $DB;
    $started = microtime(true);
    $forumgen = phpunit_util::get_data_generator()->get_plugin_generator('mod_forum');
    foreach ($posts as $spec) {
        $cm = mr_cm($course, $cms, $spec['forum'], 'forum', $out, 'forum_posts');
        $user = mr_user($spec['user']);
        if (!$cm || !$user) {
            continue;
        }
        if ($DB->record_exists('forum_discussions', ['forum' => $cm->instance, 'name' => $spec['subject']])) {
            $out->add('forum_posts', 'existing', 1 + count($spec['replies'] ?? []));
            continue;
        }
        $discussion = $forumgen->create_discussion(['course' => $course->id, 'forum' => $cm->instance,
            'userid' => $user->id, 'name' => $spec['subject'], 'subject' => $spec['subject'],
            'message' => $spec['message'], 'messageformat' => FORMAT_HTML]);
        $parent = $discussion->firstpost;
        foreach ($spec['replies'] ?? [] as $reply) {
            $author = mr_user($reply['user']);
            if (!$author) {
                $out->add('forum_posts', 'unavailable');
                continue;
            }
            $forumgen->create_post(['discussion' => $discussion->id, 'parent' => $parent, 'userid' => $author->id,
                'subject' => 'Re: ' . $spec['subject'], 'message' => $reply['message'], 'messageformat' => FORMAT_HTML]);
            $out->add('forum_posts', 'created');
        }
        $out->add('forum_posts', 'created');
    }
    $out->time('forum_posts', $started);
}

function mr_responses(stdClass $course, array $cms, array $responses, mr_counts $out): void {
    global $CFG, $DB;
    if (!$responses) {
        return;
    }
    require_once($CFG->dirroot . '/mod/choice/lib.php');
    $started = microtime(true);
    foreach ($responses as $spec) {
        $cm = mr_cm($course, $cms, $spec['choice'], 'choice', $out, 'choice_responses');
        $user = mr_user($spec['user']);
        if (!$cm || !$user) {
            continue;
        }
        if ($DB->record_exists('choice_answers', ['choiceid' => $cm->instance, 'userid' => $user->id])) {
            $out->add('choice_responses', 'existing');
            continue;
        }
        $choice = choice_get_choice($cm->instance);
        $optionid = array_search($spec['option'], $choice->option, true);
        if ($optionid === false) {
            throw new coding_exception("choice {$spec['choice']} has no option '{$spec['option']}'");
        }
        \core\session\manager::set_user($user);
        choice_user_submit_response($optionid, $choice, $user->id, $course, $cm);
        $out->add('choice_responses', 'created');
    }
    \core\session\manager::set_user(get_admin());
    $out->time('choice_responses', $started);
}

function mr_completions(stdClass $course, array $cms, array $completions, mr_counts $out): void {
    global $DB;
    if (!$completions || empty($course->enablecompletion)) {
        if ($completions) {
            $out->add('completions', 'unavailable', count($completions));
            $out->note("course {$course->shortname} does not track completion");
        }
        return;
    }
    $started = microtime(true);
    $completion = new completion_info($course);
    foreach ($completions as $spec) {
        $user = mr_user($spec['user']);
        if (!isset($cms[$spec['activity']]) || !$user) {
            $out->add('completions', 'unavailable');
            continue;
        }
        $cm = get_fast_modinfo($course)->get_cm($cms[$spec['activity']]);
        $state = $completion->get_data($cm, false, $user->id);
        if ((int) $state->completionstate > 0 || (int) $cm->completion === COMPLETION_TRACKING_NONE) {
            $out->add('completions', (int) $cm->completion === COMPLETION_TRACKING_NONE ? 'unavailable' : 'existing');
            continue;
        }
        if ((int) $cm->completion === COMPLETION_TRACKING_MANUAL) {
            $completion->update_state($cm, COMPLETION_COMPLETE, $user->id);
        } else {
            $completion->set_module_viewed($cm, $user->id);
        }
        $out->add('completions', 'created');
    }
    $out->time('completions', $started);
}

function mr_overrides(stdClass $course, array $cms, array $overrides, mr_counts $out): void {
    global $DB;
    $started = microtime(true);
    foreach ($overrides as $spec) {
        $user = mr_user($spec['user']);
        if (!isset($cms[$spec['activity']]) || !$user) {
            $out->add('grade_overrides', 'unavailable');
            continue;
        }
        $cm = get_fast_modinfo($course)->get_cm($cms[$spec['activity']]);
        $item = grade_item::fetch(['courseid' => $course->id, 'itemtype' => 'mod', 'itemmodule' => $cm->modname,
            'iteminstance' => $cm->instance, 'itemnumber' => 0]);
        if (!$item) {
            $out->add('grade_overrides', 'unavailable');
            $out->note("grade override: activity {$spec['activity']} has no grade item");
            continue;
        }
        $grade = grade_grade::fetch(['itemid' => $item->id, 'userid' => $user->id]);
        if ($grade && $grade->is_overridden()) {
            $out->add('grade_overrides', 'existing');
            continue;
        }
        $item->update_final_grade($user->id, $spec['grade'], 'gradebook', $spec['feedback'] ?? false, FORMAT_HTML);
        $out->add('grade_overrides', 'created');
    }
    $out->time('grade_overrides', $started);
}

// --- course completion ---------------------------------------------------------------

/** Activity criteria for the plan's activities that track completion (found again by course module). */
function mr_course_criteria(stdClass $course, array $activities, array $cms, mr_counts $out): void {
    global $DB;
    if (empty($course->enablecompletion)) {
        return;
    }
    $started = microtime(true);
    $modinfo = get_fast_modinfo($course);
    $existing = $DB->get_records_menu('course_completion_criteria',
        ['course' => $course->id, 'criteriatype' => COMPLETION_CRITERIA_TYPE_ACTIVITY], '', 'moduleinstance, id');
    $wanted = [];
    foreach ($activities as $a) {
        $cmid = $cms[$a['idnumber']] ?? null;
        if (!$cmid || empty($a['completion'])) {
            continue;
        }
        $cm = $modinfo->get_cm($cmid);
        if ((int) $cm->completion === COMPLETION_TRACKING_NONE) {
            continue;
        }
        if (isset($existing[$cmid])) {
            $out->add('course_criteria', 'existing');
        } else {
            $wanted[$cmid] = 1;
        }
    }
    if ($wanted) {
        // As course/completion.php saves the form: the criteria, then "all" of them required.
        $criterion = new completion_criteria_activity();
        $data = (object) ['id' => $course->id, 'criteria_activity' => $wanted];
        $criterion->update_config($data);
        foreach ([null, COMPLETION_CRITERIA_TYPE_ACTIVITY] as $type) {
            $aggregation = new completion_aggregation(['course' => $course->id, 'criteriatype' => $type]);
            $aggregation->setMethod(COMPLETION_AGGREGATION_ALL);
            $aggregation->save();
        }
        $out->add('course_criteria', 'created', count($wanted));
    }
    $out->time('course_criteria', $started);
}

/** User ids of the course's completions (before the students' work: told apart from those it makes). */
function mr_completed_users(stdClass $course): array {
    global $DB;
    $ids = $DB->get_fieldset_select('course_completions', 'userid',
        'course = ? AND timecompleted IS NOT NULL', [$course->id]);
    return array_flip(array_map('intval', $ids));
}

/**
 * Students who met every criterion marked complete in the course (what the completion task
 * does); those Moodle marked itself while the work was made count as made here.
 */
function mr_course_completions(stdClass $course, array $before, mr_counts $out): void {
    if (empty($course->enablecompletion)) {
        return;
    }
    $info = new completion_info($course);
    $criteria = $info->get_criteria(COMPLETION_CRITERIA_TYPE_ACTIVITY);
    if (!$criteria) {
        return;
    }
    $started = microtime(true);
    foreach ($info->get_tracked_users() as $user) {
        $params = ['course' => $course->id, 'userid' => $user->id];
        if (isset($before[(int) $user->id])) {
            $out->add('course_completions', 'existing');
            continue;
        }
        // Criteria met before the criteria existed (an earlier run) are reviewed here.
        foreach ($criteria as $criterion) {
            $done = new completion_criteria_completion($params + ['criteriaid' => $criterion->id]);
            if (!$done->is_complete()) {
                $criterion->review($done);
            }
        }
        $ccompletion = new completion_completion($params);
        if ($ccompletion->id && !$ccompletion->is_complete() && $ccompletion->reaggregate > 0) {
            aggregate_completions((int) $ccompletion->id);
            $ccompletion = new completion_completion($params);
        }
        if ($ccompletion->is_complete()) {
            $out->add('course_completions', 'created');
        }
    }
    $out->time('course_completions', $started);
}

// --- the actions ---------------------------------------------------------------------

function mr_apply(array $input): array {
    global $DB;
    $out = new mr_counts();
    foreach ($input['enable_modules'] ?? [] as $name) {
        $visible = $DB->get_field('modules', 'visible', ['name' => $name]);
        if ($visible === false) {
            $out->note("mod_$name is not installed: it cannot be enabled");
        } else if (!$visible) {
            \core\plugininfo\mod::enable_plugin($name, 1);
            $out->add('modules_enabled', 'created');
        } else {
            $out->add('modules_enabled', 'existing');
        }
    }
    $modules = mr_modules();
    foreach ($input['courses'] as $spec) {
        $course = $DB->get_record('course', ['shortname' => $spec['shortname']]);
        if (!$course) {
            $out->note("course {$spec['shortname']} is not on the site: its content is not made");
            $out->add('activities', 'unavailable', count($spec['activities'] ?? []));
            continue;
        }
        $transaction = $DB->start_delegated_transaction();
        mr_bank($course, $spec['bank'] ?? [], $out);
        $cms = mr_activities($course, $spec['activities'] ?? [], $modules, $out);
        // Before the students' work: Moodle then marks criteria as the work completes them.
        mr_course_criteria($course, $spec['activities'] ?? [], $cms, $out);
        $format = course_get_format($course);
        if ($course->format === 'singleactivity' && method_exists($format, 'reorder_activities')) {
            // What the format (until 5.0) does the first time anyone opens the course or its
            // activity (page_set_cm): section 1 made for "orphaned" activities.  Done here, so
            // that the first observation of the seeded site does not change it.
            $format->reorder_activities();
        }
        // Content made above must be visible to the module APIs below.
        $course = $DB->get_record('course', ['id' => $course->id]);
        $completed = mr_completed_users($course);
        $work = $spec['work'] ?? [];
        mr_attempts($course, $cms, $work['attempts'] ?? [], $out);
        mr_submissions($course, $cms, $work['submissions'] ?? [], $out);
        mr_grades($course, $cms, $work['grades'] ?? [], $out);
        mr_posts($course, $cms, $work['posts'] ?? [], $out);
        mr_responses($course, $cms, $work['responses'] ?? [], $out);
        mr_completions($course, $cms, $work['completions'] ?? [], $out);
        mr_overrides($course, $cms, $work['overrides'] ?? [], $out);
        mr_course_completions($course, $completed, $out);
        $transaction->allow_commit();
    }
    return ['counts' => $out->counts, 'notes' => $out->notes, 'seconds' => $out->seconds];
}

function mr_cleanup(array $input): array {
    global $DB;
    $prefix = $input['prefix'];
    $deleted = ['activities' => 0, 'question_categories' => 0];
    foreach ($input['courses'] as $shortname) {
        $course = $DB->get_record('course', ['shortname' => $shortname]);
        if (!$course) {
            continue;
        }
        $like = $DB->sql_like('idnumber', ':prefix');
        $cms = $DB->get_records_select('course_modules', "course = :course AND $like",
            ['course' => $course->id, 'prefix' => $DB->sql_like_escape($prefix) . '%']);
        foreach ($cms as $cm) {
            course_delete_module($cm->id);
            $deleted['activities']++;
        }
        $context = mr_bank_context($course, false);
        if ($context) {
            $categories = $DB->get_records_select('question_categories', "contextid = :ctx AND $like",
                ['ctx' => $context->id, 'prefix' => $DB->sql_like_escape($prefix) . '%'], 'id DESC');
            foreach ($categories as $category) {
                question_category_delete_safe($category);
                $deleted['question_categories']++;
            }
        }
    }
    return ['deleted' => $deleted];
}

/** Per course: where its question bank lives, its categories and questions, for observation. */
function mr_banks(array $input): array {
    global $DB;
    $result = [];
    foreach ($input['courses'] as $shortname) {
        $course = $DB->get_record('course', ['shortname' => $shortname]);
        if (!$course) {
            continue;
        }
        $contexts = [context_course::instance($course->id)];
        foreach (get_fast_modinfo($course)->get_cms() as $cm) {
            if (plugin_supports('mod', $cm->modname, FEATURE_USES_QUESTIONS)) {
                $contexts[] = context_module::instance($cm->id);
            }
        }
        $banks = [];
        foreach ($contexts as $context) {
            $bank = mr_bank_contents($context);
            if ($bank['categories']) {
                $banks[] = $bank;
            }
        }
        $result[$shortname] = $banks;
    }
    // Enabled or not: no web-service function says (the activity chooser leaves some out).
    $modules = array_map(fn($m) => ['name' => $m['name'], 'enabled' => $m['enabled']], mr_modules());
    return ['banks' => $result, 'modules' => $modules];
}

function mr_bank_contents(context $context): array {
    global $DB;
    $where = ['contextlevel' => $context->contextlevel === CONTEXT_COURSE ? 'course' : 'module'];
    if ($context instanceof context_module) {
        $cm = get_coursemodule_from_id('', $context->instanceid, 0, false, MUST_EXIST);
        $where += ['modname' => $cm->modname, 'name' => $cm->name, 'idnumber' => (string) $cm->idnumber];
        if ($cm->modname === 'qbank') {
            $where['type'] = (string) $DB->get_field('qbank', 'type', ['id' => $cm->instance]);
        }
    }
    $categories = $DB->get_records('question_categories', ['contextid' => $context->id], 'id');
    $out = [];
    foreach ($categories as $category) {
        if ((int) $category->parent === 0) {
            continue; // The "top" category every bank has.
        }
        $path = [$category->name];
        $parent = $categories[$category->parent] ?? null;
        while ($parent && (int) $parent->parent !== 0) {
            array_unshift($path, $parent->name);
            $parent = $categories[$parent->parent] ?? null;
        }
        $sql = "SELECT qv.id, qbe.idnumber, q.name, q.qtype, q.questiontext, q.defaultmark, qv.version, qv.status
                  FROM {question_bank_entries} qbe
                  JOIN {question_versions} qv ON qv.questionbankentryid = qbe.id
                  JOIN {question} q ON q.id = qv.questionid
                 WHERE qbe.questioncategoryid = :cat
              ORDER BY qbe.id, qv.version";
        $questions = [];
        foreach ($DB->get_records_sql($sql, ['cat' => $category->id]) as $row) {
            $key = $row->idnumber ?: $row->name;
            $questions[$key] = ['name' => $row->name, 'qtype' => $row->qtype, 'versions' => (int) $row->version,
                'status' => $row->status, 'defaultmark' => (float) $row->defaultmark,
                'questiontext_sha1' => sha1($row->questiontext)];
        }
        $out[] = ['path' => implode('/', $path), 'idnumber' => (string) $category->idnumber,
            'info' => $category->info, 'questions' => $questions];
    }
    return ['where' => $where, 'categories' => $out];
}

$started = microtime(true);
switch ($input['action'] ?? '') {
    case 'probe':
        $result = mr_probe();
        break;
    case 'apply':
        $result = mr_apply($input);
        break;
    case 'cleanup':
        $result = mr_cleanup($input);
        break;
    case 'banks':
        $result = mr_banks($input);
        break;
    default:
        throw new coding_exception('unknown action: ' . ($input['action'] ?? '(none)'));
}
$result['total_seconds'] = round(microtime(true) - $started, 3);
// CPU time of this PHP process: what the work costs, whatever else the machine runs.
$usage = getrusage();
$result['cpu_seconds'] = round($usage['ru_utime.tv_sec'] + $usage['ru_utime.tv_usec'] / 1e6
    + $usage['ru_stime.tv_sec'] + $usage['ru_stime.tv_usec'] / 1e6, 3);
moodle_regress_result($result);
