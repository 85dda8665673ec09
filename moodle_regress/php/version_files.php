<?php
// moodle-regress: read the version.php files of a Moodle code tree without a site (the
// tree need not be installed, nor have a config.php).  Each file is included the way
// Moodle's plugin manager loads it: into a fresh $plugin (and $module, its old name).
//
// Input, as JSON on stdin: config (unused), core (path of the tree's version.php),
// plugins ({component: path of its version.php}).
// Output: core {version, release, branch, maturity}, plugins {component: {version,
// release, requires, incompatible, maturity, dependencies}}.

define('MOODLE_INTERNAL', true);
define('ANY_VERSION', 'any');
define('MATURITY_ALPHA', 50);
define('MATURITY_BETA', 100);
define('MATURITY_RC', 150);
define('MATURITY_STABLE', 200);
require(__DIR__ . '/lib/common.php');
$input = moodle_regress_input();

function moodle_regress_core_version(string $file): array {
    $version = null; $release = null; $branch = null; $maturity = null;
    include($file);
    return ['version' => (string)$version, 'release' => (string)$release,
        'branch' => (string)$branch, 'maturity' => $maturity];
}

function moodle_regress_plugin_version(string $file): array {
    $plugin = new stdClass();
    $module = $plugin;
    include($file);
    $read = function ($name) use ($plugin) {
        return property_exists($plugin, $name) ? $plugin->$name : null;
    };
    $dependencies = [];
    foreach ((array)($read('dependencies') ?? []) as $component => $version) {
        $dependencies[$component] = (string)$version;
    }
    return [
        'version' => $read('version') === null ? null : (string)$read('version'),
        'release' => $read('release') === null ? null : (string)$read('release'),
        'requires' => $read('requires') === null ? null : (string)$read('requires'),
        'incompatible' => $read('incompatible') === null ? null : (int)$read('incompatible'),
        'maturity' => $read('maturity'),
        'dependencies' => (object)$dependencies,
    ];
}

$plugins = [];
foreach ($input['plugins'] as $component => $file) {
    try {
        $plugins[$component] = moodle_regress_plugin_version($file);
    } catch (Throwable $e) {
        $plugins[$component] = ['error' => $e->getMessage()];
    }
}
moodle_regress_result([
    'core' => moodle_regress_core_version($input['core']),
    'plugins' => (object)$plugins,
]);
