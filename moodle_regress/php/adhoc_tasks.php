<?php
// moodle-regress: the ad hoc tasks queued on a site, grouped by class, for the rehearsal
// to run those an upgrade queued (as the site's cron would) and report on them.
//
// Input, JSON on stdin: {"config": "<path of config.php>"}
// Output (lib/common.php): {"tasks": [{"classname", "component", "count", "due", "failing"}],
//                           "now": <server time>}
//   due: how many may run now (next run time reached); failing: how many have failed
//   before (a fail delay set).

define('CLI_SCRIPT', true);
require(__DIR__ . '/lib/site.php');

global $DB;
$now = time();
$sql = "SELECT classname, component,
               COUNT(1) AS count,
               SUM(CASE WHEN nextruntime <= :now THEN 1 ELSE 0 END) AS due,
               SUM(CASE WHEN faildelay > 0 THEN 1 ELSE 0 END) AS failing
          FROM {task_adhoc}
      GROUP BY classname, component
      ORDER BY classname";
$tasks = [];
foreach ($DB->get_records_sql($sql, ['now' => $now]) as $row) {
    $tasks[] = [
        'classname' => ltrim($row->classname, '\\'),
        'component' => (string) $row->component,
        'count' => (int) $row->count,
        'due' => (int) $row->due,
        'failing' => (int) $row->failing,
    ];
}
moodle_regress_result(['tasks' => $tasks, 'now' => $now]);
