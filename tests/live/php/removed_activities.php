<?php
// moodle-regress live tests: chat and survey activities (modules Moodle 5.0 removes) in
// a course of their own, made with Moodle's own data generators.
//
// Input, as JSON on stdin: config, common (path of moodle_regress/php/lib/common.php),
// shortname, chats, surveys.  Output: the course id and the activities' ids by module.

define('CLI_SCRIPT', true);
$raw = json_decode(stream_get_contents(STDIN), true);
require($raw['common']);
require($raw['config']);
moodle_regress_catch_errors();
require_once($CFG->libdir . '/testing/generator/lib.php');

global $DB;
\core\session\manager::set_user(get_admin());
$generator = new testing_data_generator();
$course = $DB->get_record('course', ['shortname' => $raw['shortname']]);
if (!$course) {
    $course = $generator->create_course(['shortname' => $raw['shortname'],
        'fullname' => 'Activities the upgrade removes']);
}
$made = ['chat' => [], 'survey' => []];
foreach (['chat' => $raw['chats'], 'survey' => $raw['surveys']] as $module => $count) {
    $have = $DB->count_records_sql("SELECT COUNT(1) FROM {course_modules} cm JOIN {modules} m
        ON m.id = cm.module WHERE m.name = ? AND cm.course = ?", [$module, $course->id]);
    for ($i = $have; $i < $count; $i++) {
        $made[$module][] = (int)$generator->create_module($module, ['course' => $course->id])->cmid;
    }
}
moodle_regress_result(['course' => (int)$course->id, 'made' => $made]);
