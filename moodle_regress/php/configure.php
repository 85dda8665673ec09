<?php
// moodle-regress: configure a sandbox site for testing (run after install and after
// every upgrade; running it again changes nothing that is already right).
//
// Input, as JSON on stdin: config (path of the site's config.php), service,
// service_name, prefixes (function name prefixes to put in the service),
// marker_idnumber, marker_name, admin_password (optional: set it), site_names
// (optional: [full name, short name]), new_identity (optional: a new site identifier,
// and the site's own address recorded as its MNet host's).
// Output: the site's release, version, branch, the token, the service's functions, the
// plugins the code lacks.

define('CLI_SCRIPT', true);
require(__DIR__ . '/lib/site.php');
require_once($CFG->libdir . '/adminlib.php');
require_once($CFG->dirroot . '/webservice/lib.php');

global $CFG, $DB;
$admin = get_admin();
\core\session\manager::set_user($admin);

// The real admin password arrives here, on stdin, rather than on the installer's
// command line where any local user could read it.
if (!empty($input['admin_password'])) {
    update_internal_user_password($admin, $input['admin_password']);
}

// A site loaded from an install kept from another sandbox: its own name and identifier
// (Moodle makes the identifier at install; two sites sharing one would share registrations).
if (!empty($input['site_names'])) {
    [$fullname, $shortname] = $input['site_names'];
    $site = get_site();
    if ($site->fullname !== $fullname || $site->shortname !== $shortname) {
        $DB->update_record('course', (object)['id' => $site->id, 'fullname' => $fullname,
            'shortname' => $shortname]);
    }
}
if (!empty($input['new_identity'])) {
    set_config('siteidentifier', random_string(32) . get_host_from_url($CFG->wwwroot));
    // Its own address as the local MNet host, which is where Moodle records it (an
    // import reads the address of the site it copies from there).
    if (!empty($CFG->mnet_localhost_id)) {
        $DB->set_field('mnet_host', 'wwwroot', $CFG->wwwroot, ['id' => $CFG->mnet_localhost_id]);
    }
}

// Web services through REST, and tokens for everyone through the mobile service.
set_config('enablewebservices', 1);
$protocols = empty($CFG->webserviceprotocols) ? [] : explode(',', $CFG->webserviceprotocols);
if (!in_array('rest', $protocols)) {
    $protocols[] = 'rest';
    set_config('webserviceprotocols', implode(',', $protocols));
}
$mobile = new admin_setting_enablemobileservice('enablemobilewebservice', '', '', 0);
$mobile->write_setting('1');
set_config('enablemobilewebservice', 1);
set_config('allowcoursethemes', 1);

// User tours cover pages that browser tests look at.
$tourcount = 0;
if ($DB->get_manager()->table_exists('tool_usertours_tours')) {
    $tourcount = $DB->count_records('tool_usertours_tours', ['enabled' => 1]);
    $DB->set_field('tool_usertours_tours', 'enabled', 0);
    if (class_exists('\tool_usertours\cache')) {
        \tool_usertours\cache::notify_tour_change();
    }
}

// The tool's own service: every function whose name starts with one of the prefixes.
$webservice = new webservice();
$service = $DB->get_record('external_services', ['shortname' => $input['service']]);
if (!$service) {
    $record = new stdClass();
    $record->name = $input['service_name'];
    $record->shortname = $input['service'];
    $record->enabled = 1;
    $record->restrictedusers = 0;
    $record->downloadfiles = 1;
    $record->uploadfiles = 1;
    $record->requiredcapability = '';
    $serviceid = $webservice->add_external_service($record);
    $service = $DB->get_record('external_services', ['id' => $serviceid], '*', MUST_EXIST);
} else if (!$service->enabled) {
    $service->enabled = 1;
    $webservice->update_external_service($service);
}
$present = array_flip($DB->get_fieldset_select(
    'external_services_functions', 'functionname', 'externalserviceid = ?', [$service->id]));
$added = [];
foreach ($DB->get_fieldset_select('external_functions', 'name', '1 = 1', []) as $name) {
    if (isset($present[$name])) {
        continue;
    }
    foreach ($input['prefixes'] as $prefix) {
        if (strpos($name, $prefix) === 0) {
            $webservice->add_external_function_to_service($name, $service->id);
            $added[] = $name;
            break;
        }
    }
}
sort($added);

// The admin's token for that service.
$token = $DB->get_field('external_tokens', 'token', [
    'userid' => $admin->id, 'externalserviceid' => $service->id, 'tokentype' => EXTERNAL_TOKEN_PERMANENT,
], IGNORE_MULTIPLE);
if (!$token) {
    $token = \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT, $service, $admin->id,
        context_system::instance(), 0, '', 'moodle-regress');
}

// The test-site marker the tool's write guard looks for.
if (!$DB->record_exists('course_categories', ['idnumber' => $input['marker_idnumber']])) {
    core_course_category::create([
        'name' => $input['marker_name'],
        'idnumber' => $input['marker_idnumber'],
        'visible' => 0,
        'description' => 'This site is a moodle-regress sandbox: test data may be written here.',
    ]);
}

// Plugins the database knows but the code lacks (after an upgrade to a tree without
// them); Moodle uninstalls the standard plugins it dropped itself (Atto in 5.0...).
$missing = [];
foreach (core_plugin_manager::instance()->get_plugins() as $plugins) {
    foreach ($plugins as $plugin) {
        if ($plugin->get_status() === core_plugin_manager::PLUGIN_STATUS_MISSING) {
            $missing[] = $plugin->component;
        }
    }
}
sort($missing);

moodle_regress_result([
    'release' => $CFG->release,
    'version' => (string)$CFG->version,
    'branch' => (string)$CFG->branch,
    'token' => $token,
    'service_id' => (int)$service->id,
    'functions' => $DB->count_records('external_services_functions', ['externalserviceid' => $service->id]),
    'added' => $added,
    'tours_disabled' => $tourcount,
    'admin_id' => (int)$admin->id,
    'siteidentifier' => (string)get_config('core', 'siteidentifier'),
    'missing_plugins' => $missing,
]);
