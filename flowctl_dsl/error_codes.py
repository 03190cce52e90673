"""Every diagnostic code flowctl emits, with a one-line meaning (``docs/errors.md`` is made from it).

A test checks that every ``"FCnnn"`` literal in the package is listed here, and that each listed
code is used.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    # FC0xx: syntax and structure of the text
    "FC001": "unexpected token: the text does not fit the grammar here",
    "FC002": "a character that cannot start any token",
    "FC003": "a string is not closed on its line",
    "FC004": "the pipeline ends before it is complete",
    "FC005": "the pipeline is empty",
    "FC006": "an environment variable used as ${NAME} is not set and has no default",
    "FC008": "a key of the key form is given twice",
    "FC009": "an unknown key in the key form",
    "FC010": "the key form has no `source`",
    "FC011": "a key of the key form holds the wrong kind of value",
    "FC012": "the pipeline file cannot be read",
    "FC013": "a --set value is malformed or names nothing in the pipeline",
    # FC1xx: names and parameters
    "FC100": "`flowctl describe` names nothing in the catalog",
    "FC101": "unknown source",
    "FC102": "unknown processor",
    "FC103": "unknown sink",
    "FC104": "a component has no parameter of that name",
    "FC105": "a parameter value has the wrong type or is invalid",
    "FC106": "a required parameter is missing",
    "FC107": "too many positional arguments",
    "FC108": "a parameter is given twice",
    # FC2xx: records, fields and types
    "FC201": "a stage gets a record type it cannot read",
    "FC202": "a field that the records do not have",
    "FC203": "a comparison or arithmetic on incompatible types",
    "FC204": "the pipeline has no sink",
    "FC205": "a stage after the sink",
    "FC206": "`filter <op> value` without a field, and the records have no primary field",
    "FC207": "a condition that is not boolean",
    "FC208": "a field selected twice",
    "FC209": "`derive` would overwrite an existing field",
    "FC210": "`limit` needs at least 1",
    "FC211": "a component used in the wrong place (a processor as source, a source as stage…)",
    "FC212": "`on_error` is not dead_letter(<sink>), or its sink or options are wrong",
    "FC213": "a malformed `checkpoint` setting",
    "FC214": "a malformed `retry` setting",
    "FC215": "an unbounded (followed) source feeding a stage or sink that needs a bounded range",
    # FC3xx: runners
    "FC301": "unknown runner",
    "FC302": "an unbounded source on a batch-only runner",
    "FC303": "a runner's job-server jar or client library is missing",
    "FC304": "an unknown or malformed runner option",
    "FC305": "an unbounded source with more than one direct worker",
    "FC306": "Dataflow submission without a project or credentials",
    "FC307": "no Beam job service answers at the endpoint",
    "FC308": "Dataflow streaming without a dead-letter output (warning)",
    # FC4xx: failures while running
    "FC401": "a ledger in the range is missing from the data lake",
    "FC402": "the data lake cannot be read",
    "FC403": "the output cannot be written",
    "FC404": "the sink's target cannot be reached (after retries)",
    "FC405": "the sink's target exists but cannot take these records",
    "FC406": "a stage failed on a record and no dead-letter output is declared",
    "FC407": "more records failed than `max_error_ratio` allows",
    "FC408": "the checkpoint belongs to a different pipeline (the compiled IR changed)",
    "FC409": "the checkpoint store cannot be read or written",
    # FC5xx: configuration, secrets and migration
    "FC501": "a defaults file cannot be read or parsed",
    "FC502": "a defaults file names an unknown setting",
    "FC503": "a defaults file gives a setting a bad value",
    "FC504": "FLOWCTL_EXECUTION or FLOWCTL_DECODER has a value flowctl does not know",
    "FC510": "a V1 YAML file that cannot be read safely",
    "FC511": "an unsupported V1 component type",
    "FC512": "a V1 value with no flowctl equivalent",
    "FC513": "a V1 file with several pipelines where one is needed",
    "FC520": "a malformed secret reference",
    "FC521": "a secret cannot be resolved",
    "FC522": "a secret used where it is not allowed",
    "FC523": "a secret backend is not available",
    "FC530": "a path escapes the configured output root",
}
