<?php
// moodle-regress: what a site has installed, through Moodle's own plugin manager, and
// (for a preflight) what an upgrade to another code tree would find.
//
// Input, as JSON on stdin: config (path of the site's config.php);
//   target_components (optional): the plugins in the target code tree; the data of the
//     site's plugins not among them is counted (activities, users, enrolments...);
//   environment (optional): {xml: path of the target's admin/environment.xml,
//     release: the target's release, workdir: an empty folder of ours} to run Moodle's
//     own environment check (lib/environmentlib.php) against that file.
// Output: core {version, release, branch}, database {family, vendor, version},
//   plugins [{component, type, name, parent, versiondb, versiondisk, release, status,
//   enabled, standard}], usage {component: {...counts}}, environment [results].

define('CLI_SCRIPT', true);
define('CACHE_DISABLE_ALL', true);
require(__DIR__ . '/lib/site.php');
require_once($CFG->libdir . '/adminlib.php');

global $CFG, $DB;

/**
 * Every plugin the site knows (from its database and its code), as Moodle's plugin manager sees it.
 */
function moodle_regress_plugins(): array {
    $found = [];
    foreach (core_plugin_manager::instance()->get_plugins() as $type => $plugins) {
        foreach ($plugins as $plugin) {
            try {
                $enabled = $plugin->is_enabled();
            } catch (Throwable $e) {
                $enabled = null;  // a plugin whose code is gone cannot always say
            }
            $found[] = [
                'component' => $plugin->component,
                'type' => $type,
                'name' => $plugin->name,
                'parent' => core_component::get_subtype_parent($type),
                'versiondb' => $plugin->versiondb === null ? null : (string)$plugin->versiondb,
                'versiondisk' => $plugin->versiondisk === null ? null : (string)$plugin->versiondisk,
                'release' => $plugin->release === null ? null : (string)$plugin->release,
                'status' => $plugin->get_status(),
                'enabled' => $enabled === null ? null : (bool)$enabled,
                'standard' => (bool)$plugin->is_standard(),
            ];
        }
    }
    return $found;
}

/**
 * What of a plugin's data the site holds: settings, and by plugin type its activities
 * per course, users, enrolments, block instances, or the users of a theme.
 */
function moodle_regress_usage(string $component, string $type, string $name): array {
    global $DB, $CFG;
    $usage = ['settings' => $DB->count_records_select('config_plugins',
        "plugin = ? AND name <> 'version'", [$component])];
    if ($type === 'mod') {
        $rows = $DB->get_records_sql(
            "SELECT c.id, c.shortname, COUNT(cm.id) AS activities
               FROM {course_modules} cm
               JOIN {modules} m ON m.id = cm.module
               JOIN {course} c ON c.id = cm.course
              WHERE m.name = ?
           GROUP BY c.id, c.shortname", [$name]);
        $usage['activities'] = [];
        foreach ($rows as $row) {
            $usage['activities'][$row->shortname] = (int)$row->activities;
        }
        $usage['activities'] = (object)$usage['activities'];
    } else if ($type === 'auth') {
        $usage['users'] = $DB->count_records('user', ['auth' => $name, 'deleted' => 0]);
    } else if ($type === 'enrol') {
        $usage['instances'] = $DB->count_records('enrol', ['enrol' => $name]);
        $usage['enrolments'] = (int)$DB->count_records_sql(
            "SELECT COUNT(ue.id) FROM {user_enrolments} ue JOIN {enrol} e ON e.id = ue.enrolid
              WHERE e.enrol = ?", [$name]);
    } else if ($type === 'block') {
        $usage['block_instances'] = $DB->count_records('block_instances', ['blockname' => $name]);
    } else if ($type === 'theme') {
        $usage['site_theme'] = ($CFG->theme ?? '') === $name;
        $usage['courses'] = $DB->count_records('course', ['theme' => $name]);
        $usage['categories'] = $DB->count_records('course_categories', ['theme' => $name]);
        $usage['users'] = $DB->count_records('user', ['theme' => $name, 'deleted' => 0]);
    }
    return $usage;
}

/**
 * Moodle's own environment check of another release's environment.xml.  Moodle reads a
 * newer environment.xml from <dataroot>/environment/ (its admin page downloads one
 * there); the site's dataroot is left alone: the check reads ours, in workdir.
 */
function moodle_regress_environment(array $env): array {
    global $CFG;
    require_once($CFG->libdir . '/environmentlib.php');
    require_once($CFG->libdir . '/upgradelib.php');
    $folder = $env['workdir'] . '/environment';
    @mkdir($folder, 0700, true);
    copy($env['xml'], $folder . '/environment.xml');
    $dataroot = $CFG->dataroot;
    $CFG->dataroot = $env['workdir'];
    try {
        [$ok, $results] = check_moodle_environment(normalize_version($env['release']), ENV_SELECT_DATAROOT);
    } finally {
        $CFG->dataroot = $dataroot;
    }
    $manager = get_string_manager();
    $found = [];
    foreach ($results as $result) {
        $feedback = '';
        $key = $result->getFeedbackStr();
        if (is_array($key)) {
            [$id, $component] = $key + [1 => 'admin'];
            $feedback = $manager->string_exists($id, $component) ? get_string($id, $component) : $id;
        } else if ($key) {
            $feedback = $manager->string_exists($key, 'admin') ? get_string($key, 'admin') : $key;
        }
        $found[] = [
            'part' => $result->getPart(),
            'info' => (string)$result->getInfo(),
            'level' => (string)$result->getLevel(),
            'status' => (bool)$result->getStatus(),
            'error_code' => $result->getErrorCode() ? (string)$result->getErrorCode() : null,
            'current' => $result->getCurrentVersion() === null ? null : (string)$result->getCurrentVersion(),
            'needed' => $result->getNeededVersion() === null ? null : (string)$result->getNeededVersion(),
            'feedback' => strip_tags((string)$feedback),
            'bypassed' => (bool)$result->getBypassStr(),
            'restricted' => (bool)$result->getRestrictStr(),
        ];
    }
    return ['ok' => (bool)$ok, 'results' => $found];
}

$plugins = moodle_regress_plugins();
$usage = [];
if (isset($input['target_components'])) {
    $target = array_flip($input['target_components']);
    foreach ($plugins as $plugin) {
        if ($plugin['versiondb'] !== null && !isset($target[$plugin['component']])) {
            $usage[$plugin['component']] = moodle_regress_usage($plugin['component'], $plugin['type'], $plugin['name']);
        }
    }
}
$serverinfo = $DB->get_server_info();
moodle_regress_result([
    'core' => ['version' => (string)$CFG->version, 'release' => (string)$CFG->release,
        'branch' => (string)$CFG->branch],
    'database' => ['family' => $DB->get_dbfamily(), 'vendor' => $DB->get_dbvendor(),
        'version' => (string)($serverinfo['version'] ?? '')],
    'plugins' => $plugins,
    'usage' => (object)$usage,
    'environment' => empty($input['environment']) ? null : moodle_regress_environment($input['environment']),
]);
