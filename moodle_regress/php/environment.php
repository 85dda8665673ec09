<?php
// moodle-regress: Moodle's own environment check (admin/environment.xml and its custom
// checks) for the site's release, run against the site's database: whether it passes,
// every check that did not, and what Moodle sees of the database.
define('CLI_SCRIPT', true);
require(__DIR__ . '/lib/site.php');
require_once($CFG->libdir . '/environmentlib.php');
require_once($CFG->libdir . '/upgradelib.php');

[$ok, $results] = check_moodle_environment(normalize_version($CFG->release), ENV_SELECT_RELEASE);
$failed = [];
foreach ($results as $result) {
    if (!$result->getStatus()) {
        $failed[] = [
            'part' => (string)$result->getPart(),
            'info' => (string)$result->getInfo(),
            'level' => (string)$result->getLevel(),
            'feedback' => (string)$result->getFeedbackStr(),
        ];
    }
}
$database = [
    'family' => $DB->get_dbfamily(),
    'version' => (string)($DB->get_server_info()['version'] ?? ''),
];
if (method_exists($DB, 'get_dbcollation')) {
    $database['collation'] = $DB->get_dbcollation();
}
if (method_exists($DB, 'get_row_format')) {
    $database['row_format'] = $DB->get_row_format();
}
moodle_regress_result(['ok' => (bool)$ok, 'failed' => $failed, 'database' => $database]);
