<?php
// moodle-regress: replace the people of an imported copy by fakes (sandbox import
// --anonymise), after sanitise.php and before the site serves.
//
// Input, as JSON on stdin: config (path of the site's config.php), people (a list of
// user records: id and the fields to set, the fakes the tool made for them).
// Output: how many users were changed.

define('CLI_SCRIPT', true);
require(__DIR__ . '/lib/site.php');

global $DB;
// All or nothing: a copy with half its people real is not shareable, and looks as if it were.
$transaction = $DB->start_delegated_transaction();
$changed = 0;
foreach ($input['people'] as $person) {
    $DB->update_record('user', (object)$person);
    $changed++;
}
$transaction->allow_commit();
// Names are cached (user records in the session and course contacts).
purge_all_caches();

moodle_regress_result(['changed' => $changed]);
