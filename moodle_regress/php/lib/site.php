<?php
// moodle-regress: the start every script of ours shares that works on a site.  Read the
// input (JSON on stdin, see common.php), run the site's config.php (Moodle's setup), then
// report uncaught exceptions in the protocol.  Required from a script's top level, so
// that config.php runs in the global scope, as Moodle's setup expects:
//
//   define('CLI_SCRIPT', true);
//   require(__DIR__ . '/lib/site.php');   // $input, and Moodle's $CFG, $DB ...
//   ...
//   moodle_regress_result($data);

require_once(__DIR__ . '/common.php');
$input = moodle_regress_input();
require($input['config']);
moodle_regress_catch_errors();
