<?php
// moodle-regress: the web-service contract of a Moodle code tree, as Moodle describes it.
//
// For every function the code declares (lib/db/services.php and each plugin's
// db/services.php, as Moodle's installer reads them): its parameters and return
// structure from core_external\external_api::external_function_info() (names, types,
// required/optional/default, defaults, allownull, nesting), whether it is deprecated
// (<method>_is_deprecated()), allowed from AJAX, login required, read or write, and the
// services the code puts it in.  Reads only; one run for every function.
//
// Input, JSON on stdin: {"config": "<path of config.php>"}.
// Result: {"release", "version", "now", "functions": {name: {...}}} ("now": the time of the
// run, for defaults that are the current time).  Protocol: moodle_regress/phprun.py.

define('CLI_SCRIPT', true);
require(__DIR__ . '/lib/site.php');

/** Moodle 4.2 moved the description classes into core_external; older ones are global. */
function mr_class(string $name): string {
    return class_exists('core_external\\' . $name) ? 'core_external\\' . $name : $name;
}

function mr_required($required): string {
    if ($required === VALUE_REQUIRED) {
        return 'required';
    }
    return $required === VALUE_OPTIONAL ? 'optional' : 'default';
}

/** One description node and its children as plain arrays. */
function mr_describe($desc): array {
    $node = [];
    if (is_a($desc, mr_class('external_value'))) {
        $node['type'] = (string)$desc->type;
    } else if (is_a($desc, mr_class('external_single_structure'))) {
        $node['type'] = 'object';
        $node['keys'] = [];
        foreach ($desc->keys as $name => $child) {
            $node['keys'][(string)$name] = mr_describe($child);
        }
    } else if (is_a($desc, mr_class('external_multiple_structure'))) {
        $node['type'] = 'list';
        $node['content'] = mr_describe($desc->content);
    } else {
        $node['type'] = is_object($desc) ? get_class($desc) : gettype($desc);
        return $node;
    }
    $node['required'] = mr_required($desc->required);
    if ($desc->required === VALUE_DEFAULT) {
        $node['default'] = $desc->default;
    }
    // Structures have allownull from Moodle 4.3 on; before, they never accepted null.
    $node['allownull'] = property_exists($desc, 'allownull') ? (bool)$desc->allownull : false;
    return $node;
}

/** Where each component keeps db/services.php: core, then every plugin. */
function mr_service_files(): array {
    global $CFG;
    $files = ['moodle' => $CFG->libdir . '/db/services.php'];
    foreach (core_component::get_plugin_types() as $type => $unused) {
        foreach (core_component::get_plugin_list($type) as $name => $dir) {
            $files[$type . '_' . $name] = $dir . '/db/services.php';
        }
    }
    return array_filter($files, 'file_exists');
}

/** core functions belong to 'moodle'; name them by the longest core subsystem prefix. */
function mr_component(string $component, string $function): string {
    if ($component !== 'moodle') {
        return $component;
    }
    $best = 'core';
    foreach (array_keys(core_component::get_core_subsystems()) as $subsystem) {
        $candidate = 'core_' . $subsystem;
        if (strpos($function, $candidate . '_') === 0 && strlen($candidate) > strlen($best)) {
            $best = $candidate;
        }
    }
    return $best;
}

function mr_function(string $name, array $definition, string $component, array $services): array {
    $record = (object)[
        'name' => $name,
        'classname' => $definition['classname'],
        'methodname' => $definition['methodname'] ?? 'execute',
        'classpath' => $definition['classpath'] ?? null,
        'component' => $component,
        'capabilities' => $definition['capabilities'] ?? '',
    ];
    $entry = [
        'component' => mr_component($component, $name),
        'type' => $definition['type'] ?? null,
        'services' => $services,
    ];
    try {
        $info = call_user_func([mr_class('external_api'), 'external_function_info'], $record);
    } catch (Throwable $e) {
        $entry['error'] = get_class($e) . ': ' . $e->getMessage();
        return $entry;
    }
    $entry['deprecated'] = !empty($info->deprecated);
    $entry['ajax'] = !empty($info->allowed_from_ajax);
    $entry['loginrequired'] = !isset($info->loginrequired) || !empty($info->loginrequired);
    $entry['readonlysession'] = !empty($info->readonlysession);
    $entry['params'] = mr_describe($info->parameters_desc);
    $entry['returns'] = $info->returns_desc === null ? null : mr_describe($info->returns_desc);
    return $entry;
}

$declared = [];
$inservice = [];
foreach (mr_service_files() as $component => $file) {
    $functions = [];
    $services = [];
    include($file);
    foreach ($functions as $name => $definition) {
        $declared[$name] = [$component, $definition];
        foreach ($definition['services'] ?? [] as $service) {
            $inservice[$name][$service] = true;
        }
    }
    foreach ($services as $servicename => $service) {
        $shortname = $service['shortname'] ?? $servicename;
        foreach ($service['functions'] ?? [] as $name) {
            $inservice[$name][$shortname] = true;
        }
    }
}
ksort($declared);

$result = [];
foreach ($declared as $name => [$component, $definition]) {
    $services = array_keys($inservice[$name] ?? []);
    sort($services);
    $result[$name] = mr_function($name, $definition, $component, $services);
}

moodle_regress_result([
    'release' => $CFG->release,
    'version' => (string)$CFG->version,
    'now' => time(),
    'functions' => $result,
]);
