<?php
// moodle-regress: many reads of a site's web-service functions in one PHP run, as the
// site's REST server would answer each (the observer's bulk reads on a sandbox: one
// Moodle boot for thousands of calls instead of one a call).
//
// Input, JSON on stdin: {"config": "<path of config.php>", "token": "<the tool's token>",
//                        "function": "<name>", "calls": [{<parameters>}...]}
// Output (lib/common.php): [{"data": <the answer>} | {"exception": {exception,
//                           errorcode, message}}...], one per call, in order.
//
// Each call goes the REST server's way (webservice/lib.php, webservice_base_server):
// its default settings (raw off, file URLs through webservice/pluginfile.php, filters
// off), the parameters validated, any plugin's override_webservice_execution, the
// function, the answer cleaned by its return description; as the user of the token, on
// a new page each time, as the server starts each request.

define('CLI_SCRIPT', true);
require(__DIR__ . '/lib/site.php');

use core_external\external_api;
use core_external\external_settings;

global $PAGE, $COURSE, $SITE, $CFG;
require_once($CFG->libdir . '/pagelib.php');

global $DB;
$userid = $DB->get_field('external_tokens', 'userid', ['token' => $input['token']]);
if (!$userid) {
    moodle_regress_error('the token is not one of this site\'s', 'invalidtoken');
}
\core\session\manager::set_user(core_user::get_user($userid, '*', MUST_EXIST));
$settings = external_settings::get_instance();
$settings->set_raw(false);
$settings->set_fileurl(true);
$settings->set_filter(false);

$info = external_api::external_function_info($input['function']);
$overrides = get_plugins_with_function('override_webservice_execution');
$answers = [];
foreach ($input['calls'] as $args) {
    $PAGE = new moodle_page();
    $COURSE = clone($SITE);
    try {
        $params = array_values(call_user_func(
            [$info->classname, 'validate_parameters'], $info->parameters_desc, $args
        ));
        $result = false;
        foreach ($overrides as $plugins) {
            foreach ($plugins as $callback) {
                $result = $callback($info, $params);
                if ($result !== false) {
                    break 2;
                }
            }
        }
        if ($result === false) {
            $result = call_user_func_array([$info->classname, $info->methodname], $params);
        }
        if ($info->returns_desc !== null) {
            $result = call_user_func([$info->classname, 'clean_returnvalue'], $info->returns_desc, $result);
        }
        $answers[] = ['data' => $result];
    } catch (Throwable $e) {
        // What the REST server answers for an exception (webservice_rest_server).
        $answers[] = ['exception' => [
            'exception' => get_class($e),
            'errorcode' => property_exists($e, 'errorcode') ? (string) $e->errorcode : '',
            'message' => $e->getMessage(),
        ]];
    }
}
moodle_regress_result($answers);
