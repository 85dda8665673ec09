<?php
// moodle-regress benchmark: the cost of one database round trip as Moodle's own DML
// makes it, reads alone and writes inside a transaction (which Moodle's PostgreSQL
// driver follows with a savepoint).  Input: {"config", "count"}.  Changes nothing:
// the write is an UPDATE that matches no row (one that did would grow a chain of row
// versions inside the transaction and time that instead).

define('CLI_SCRIPT', true);
require(__DIR__ . '/../../moodle_regress/php/lib/site.php');

$count = max(1, (int) ($input['count'] ?? 20000));
$cpu = function (): float {
    $usage = getrusage();
    return $usage['ru_utime.tv_sec'] + $usage['ru_utime.tv_usec'] / 1e6
        + $usage['ru_stime.tv_sec'] + $usage['ru_stime.tv_usec'] / 1e6;
};
$cpustart = $cpu();
$started = microtime(true);
for ($i = 0; $i < $count; $i++) {
    $DB->get_field_sql('SELECT id FROM {config} WHERE name = ?', ['siteidentifier']);
}
$reads = microtime(true) - $started;
$started = microtime(true);
$transaction = $DB->start_delegated_transaction();
for ($i = 0; $i < $count; $i++) {
    $DB->execute("UPDATE {config} SET value = value WHERE name = ?", ['moodle-regress-no-such-setting']);
}
$transaction->allow_commit();
$writes = microtime(true) - $started;
moodle_regress_result([
    'read_us' => $reads / $count * 1e6,
    'write_us' => $writes / $count * 1e6,
    'php_cpu' => $cpu() - $cpustart,
    'cpus' => preg_match('/^Cpus_allowed_list:\s*(\S+)/m', (string) file_get_contents('/proc/self/status'), $m)
        ? $m[1] : '?',
]);
