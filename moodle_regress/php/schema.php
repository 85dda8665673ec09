<?php
// moodle-regress: read a site's database schema and the rows of each table, through
// Moodle's own database layer ($DB->get_tables(), get_columns(), get_indexes(),
// count_records()), so that the same script reads PostgreSQL and MariaDB alike; and
// which component's install.xml declares each table (the same files, found the same
// way, as Moodle's database_manager::get_install_xml_files()).
//
// Input, JSON on stdin: {"config": "<path of config.php>", "rows": true}
// Output: {"release", "version", "dbfamily", "dbvendor", "server_version",
//   "components": {"<table>": "<component>"},          (declared in this code tree)
//   "tables": {"<name without prefix>": {"rows": N or null,
//       "columns": {"<column>": {"type", "meta_type", "max_length", "scale",
//                   "not_null", "primary_key", "auto_increment", "has_default",
//                   "default"}},
//       "indexes": [{"name", "columns": [...], "unique": bool}]}}}

define('CLI_SCRIPT', true);
require(__DIR__ . '/lib/site.php');
require_once($CFG->libdir . '/adminlib.php');
require_once($CFG->libdir . '/ddllib.php');

/**
 * One column as plain data (database_column_info is a magic read-only object).
 *
 * @param database_column_info $column
 * @return array
 */
function moodle_regress_column(database_column_info $column): array {
    return [
        'type' => (string)$column->type,
        'meta_type' => (string)$column->meta_type,
        'max_length' => $column->max_length === null ? null : (int)$column->max_length,
        'scale' => $column->scale === null ? null : (int)$column->scale,
        'not_null' => (bool)$column->not_null,
        'primary_key' => (bool)$column->primary_key,
        'auto_increment' => (bool)$column->auto_increment,
        'has_default' => (bool)$column->has_default,
        'default' => $column->has_default && $column->default_value !== null
            ? (string)$column->default_value : null,
    ];
}

/**
 * Table name => the component whose db/install.xml declares it ("core" for lib/db).
 *
 * @return array
 */
function moodle_regress_table_components(): array {
    global $CFG;
    $dirs = [$CFG->libdir . '/db' => 'core'];
    foreach (core_component::get_plugin_types() as $type => $unused) {
        foreach (core_component::get_plugin_list($type) as $name => $dir) {
            $dirs[$dir . '/db'] = $type . '_' . $name;
        }
    }
    $components = [];
    foreach ($dirs as $dir => $component) {
        $file = new xmldb_file($dir . '/install.xml');
        if (!$file->fileExists() || !$file->loadXMLStructure()) {
            continue;
        }
        foreach ($file->getStructure()->getTables() as $table) {
            $components[$table->getName()] = $component;
        }
    }
    ksort($components);
    return $components;
}

global $CFG, $DB;
$countrows = !array_key_exists('rows', $input) || !empty($input['rows']);
$tables = [];
$names = array_values($DB->get_tables(false));
sort($names);
foreach ($names as $table) {
    $columns = [];
    foreach ($DB->get_columns($table, false) as $name => $column) {
        $columns[$name] = moodle_regress_column($column);
    }
    ksort($columns);
    $indexes = [];
    foreach ($DB->get_indexes($table) as $name => $index) {
        $indexes[] = [
            'name' => (string)$name,
            'columns' => array_values(array_map('strval', $index['columns'])),
            'unique' => (bool)$index['unique'],
        ];
    }
    $tables[$table] = [
        'rows' => $countrows ? (int)$DB->count_records($table) : null,
        'columns' => $columns,
        'indexes' => $indexes,
    ];
}
$server = $DB->get_server_info();
moodle_regress_result([
    'release' => (string)$CFG->release,
    'version' => (string)$CFG->version,
    'dbfamily' => $DB->get_dbfamily(),
    'dbvendor' => $DB->get_dbvendor(),
    'server_version' => (string)($server['version'] ?? ''),
    'components' => (object)moodle_regress_table_components(),
    'tables' => (object)$tables,
]);
