<?php
// moodle-regress: enable self enrolment (with a key) and guest access on courses of a
// LOCAL sandbox.  Moodle 4.5-5.1 have no web-service function that adds, enables or
// configures enrolment instances, so the seeder uses this script when it can run PHP
// against the site's code tree.  Running it again changes nothing already right.
//
// Input, JSON on stdin: {"config": "<path of config.php>",
//   "courses": [{"courseid": 12, "methods": [{"method": "self", "key": "..."},
//                                            {"method": "guest", "password": null}]}]}
// Output: {"changed": N, "unchanged": M}.

define('CLI_SCRIPT', true);
require(__DIR__ . '/lib/site.php');
require_once($CFG->libdir . '/enrollib.php');

global $DB;
\core\session\manager::set_user(get_admin());

$changed = 0;
$unchanged = 0;
foreach ($input['courses'] as $entry) {
    $course = $DB->get_record('course', ['id' => (int)$entry['courseid']], '*', MUST_EXIST);
    foreach ($entry['methods'] as $method) {
        $type = $method['method'];
        $plugin = enrol_get_plugin($type);
        if (!$plugin) {
            moodle_regress_error("enrolment plugin $type is not installed", 'enrolnotinstalled');
        }
        $secret = $type === 'self' ? ($method['key'] ?? '') : ($method['password'] ?? '');
        $secret = (string)$secret;
        $instance = $DB->get_record('enrol', ['courseid' => $course->id, 'enrol' => $type],
            '*', IGNORE_MULTIPLE);
        if (!$instance) {
            $plugin->add_instance($course, ['status' => ENROL_INSTANCE_ENABLED, 'password' => $secret]);
            $changed++;
            continue;
        }
        if ((int)$instance->status === ENROL_INSTANCE_ENABLED && (string)$instance->password === $secret) {
            $unchanged++;
            continue;
        }
        // update_status() writes the whole record back: status first, then the key.
        if ((int)$instance->status !== ENROL_INSTANCE_ENABLED) {
            $plugin->update_status($instance, ENROL_INSTANCE_ENABLED);
        }
        if ((string)$instance->password !== $secret) {
            $DB->set_field('enrol', 'password', $secret, ['id' => $instance->id]);
        }
        $changed++;
    }
}
moodle_regress_result(['changed' => $changed, 'unchanged' => $unchanged]);
