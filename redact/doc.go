// Package redact scrubs personal data and secrets from rows of the lake's
// tables, following a policy file: per table and column, JSON paths or key
// names to drop, to hash (HMAC-SHA256 with a key from an environment
// variable, so that equal values hash alike across runs and joins still
// work) or to mask, and detectors run over every string of the free-form
// JSON columns (e-mail addresses, phone numbers, Luhn-checked card numbers,
// mod-97-checked IBANs, IP addresses, API keys and tokens), each finding
// replaced by a placeholder that names what was removed
// ([REDACTED:email]).
//
// The exporter applies a Redactor to every row it hands to the hive writer
// (so the lake never holds the removed values), the importer to every row
// it reads from a lake (a scrubbed copy of a raw lake), and the LangSmith
// converter to every row it writes. docs/privacy.md documents the policy
// format.
//
// # Guarantees
//
// JSON stays JSON: the detectors only edit inside string values (and keys
// when the policy says so) and replace ASCII spans that hold no escape, so
// valid JSON and valid UTF-8 in give valid JSON and UTF-8 out, with the
// input's formatting kept. Text in a JSON column that is not JSON is
// scanned as plain text. Redaction is idempotent: placeholders and
// [HMAC:…] tags are never found again. Langfuse media tokens
// (@@@langfuseMedia:…@@@) are never touched by a detector; a media
// reference inside a value that a rule drops, hashes or masks does not
// travel (Redactor.MediaKept).
//
// # Speed
//
// The detectors are one byte scan per string with a class table and cheap
// prefilters (a word start, an @, a +), not regular expressions; an
// unchanged document is not copied. BenchmarkRedactObservation measures
// realistic 2 KB observations.
//
// The package knows tables through package schema and nothing of hive,
// Langfuse or the command line.
package redact
