<?php
// moodle-regress: make an imported copy of a real site safe, before its web server
// answers a single request (run once, right after the dump and dataroot are loaded and
// config.php points at the sandbox).
//
// Input, as JSON on stdin: config (path of the site's config.php), new_url (the
// sandbox's wwwroot), old_urls (addresses the site had; the local MNet host's is added),
// auth_off (authentication plugins to switch off).
// Output: the admin's username, the old addresses replaced, the authentication plugins
// switched off, how many scheduled tasks were disabled and ad hoc tasks deleted.

define('CLI_SCRIPT', true);
require(__DIR__ . '/lib/site.php');
require_once($CFG->libdir . '/adminlib.php');

global $CFG, $DB;
$newurl = rtrim($input['new_url'], '/');

// No email leaves, whatever config.php says later.
set_config('noemailever', 1);

// Nothing runs by itself: every scheduled task off, queued ad hoc tasks gone.
$scheduled = $DB->count_records('task_scheduled', ['disabled' => 0]);
$DB->set_field('task_scheduled', 'disabled', 1);
$adhoc = $DB->count_records('task_adhoc');
$DB->delete_records('task_adhoc');

// No login through another system, and no MNet peer reached.
$auths = empty($CFG->auth) ? [] : explode(',', $CFG->auth);
$off = array_values(array_intersect($auths, $input['auth_off']));
set_config('auth', implode(',', array_diff($auths, $input['auth_off'])));
set_config('mnet_dispatcher_mode', 'off');
if ($DB->get_manager()->table_exists('oauth2_issuer')) {
    $DB->set_field('oauth2_issuer', 'enabled', 0);
}
// Mobile push notifications go through an outside server.
$DB->set_field('message_processors', 'enabled', 0, ['name' => 'airnotifier']);

// The admin logs in with the password the tool sets (configure.php), not elsewhere.
$admin = get_admin();
if ($admin->auth !== 'manual') {
    $DB->set_field('user', 'auth', 'manual', ['id' => $admin->id]);
}

// The site's old addresses, replaced by the sandbox's everywhere Moodle's own
// replace tool reaches (admin/tool/replace: every text column but logs, hashes and
// a few tables), and in the settings tables it leaves out.
$old = $input['old_urls'];
if (!empty($CFG->mnet_localhost_id)) {
    $mnet = $DB->get_field('mnet_host', 'wwwroot', ['id' => $CFG->mnet_localhost_id]);
    if ($mnet) {
        $old[] = $mnet;
    }
}
$old = array_values(array_unique(array_filter(array_map(fn($u) => rtrim($u, '/'), $old),
    fn($u) => $u !== '' && $u !== $newurl)));
// Longest first: "https://x/moodle" before "https://x".
usort($old, fn($a, $b) => strlen($b) - strlen($a));
$pairs = [];
foreach ($old as $url) {
    $pairs[$url] = $newurl;
    // As JSON writes it.
    $pairs[str_replace('/', '\\/', $url)] = str_replace('/', '\\/', $newurl);
}
foreach ($pairs as $search => $replace) {
    ob_start();
    db_replace($search, $replace);
    ob_end_clean();
    foreach (['config' => 'value', 'config_plugins' => 'value', 'filter_config' => 'value'] as $table => $column) {
        $like = $DB->sql_like($column, '?', true, true);
        $rows = $DB->get_records_select($table, $like, ['%' . $DB->sql_like_escape($search) . '%'], '', "id, $column");
        foreach ($rows as $row) {
            $DB->set_field($table, $column, str_replace($search, $replace, $row->$column), ['id' => $row->id]);
        }
    }
}

// Caches and sessions of the real site are not the sandbox's.
\core\session\manager::kill_all_sessions();
$DB->delete_records('sessions');
purge_all_caches();

moodle_regress_result([
    'admin_username' => $admin->username,
    'replaced' => $old,
    'auth_off' => $off,
    'scheduled_disabled' => $scheduled,
    'adhoc_deleted' => $adhoc,
]);
