<?php
// moodle-regress: the protocol every script of ours speaks (see moodle_regress/phprun.py).
// A script that works on a site starts with lib/site.php, which reads the input and
// runs the site's config.php; one that reads files only starts with this file:
//
//   require(__DIR__ . '/lib/common.php');
//   $input = moodle_regress_input();
//   ...
//   moodle_regress_result($data);
//
// The result is one line "MOODLE_REGRESS_RESULT <json>"; an uncaught exception is one
// line "MOODLE_REGRESS_ERROR <json {message, errorcode, debuginfo}>".  Anything else
// printed goes to the caller's log.

/**
 * The JSON object on stdin (it names the site's config.php in "config").
 */
function moodle_regress_input(): array {
    $input = json_decode(stream_get_contents(STDIN), true);
    if (!is_array($input) || empty($input['config'])) {
        moodle_regress_error('expected a JSON object with "config" on stdin', 'badinput');
    }
    return $input;
}

/**
 * Report uncaught exceptions in the protocol (Moodle's setup installs its own handler,
 * so call this after requiring config.php).
 */
function moodle_regress_catch_errors(): void {
    set_exception_handler(function (Throwable $e) {
        $debuginfo = property_exists($e, 'debuginfo') ? (string)$e->debuginfo : '';
        $debuginfo .= ($debuginfo === '' ? '' : "\n") . get_class($e) . ' at ' . $e->getFile() . ':' . $e->getLine();
        moodle_regress_error($e->getMessage(), property_exists($e, 'errorcode') ? (string)$e->errorcode : '', $debuginfo);
    });
}

/**
 * Print the script's result and end it.
 */
function moodle_regress_result($data): void {
    echo "\nMOODLE_REGRESS_RESULT " . json_encode($data, JSON_INVALID_UTF8_SUBSTITUTE) . "\n";
    exit(0);
}

/**
 * Print an error in the protocol and end the script.
 */
function moodle_regress_error(string $message, string $errorcode = '', string $debuginfo = ''): void {
    echo "\nMOODLE_REGRESS_ERROR " . json_encode([
        'message' => $message, 'errorcode' => $errorcode, 'debuginfo' => $debuginfo,
    ], JSON_INVALID_UTF8_SUBSTITUTE) . "\n";
    exit(1);
}
