#pragma once
// RFC 4180 field splitting for one CSV record (which may span lines inside quotes).
// Framing (finding where a record ends) lives in ingest/record_reader.h.

#include <string>
#include <string_view>
#include <vector>

namespace orderpulse {

// Splits `record` (without its line terminator) into fields. Quoted fields are unquoted with
// doubled quotes collapsed; their text, and nothing else, is stored in `scratch` (empty after a
// row with no quoted cell that has text), so the returned views are valid
// until the next call with the same scratch. Returns false for a malformed record (text after a
// closing quote, or an unterminated quote).
bool split_csv_record(std::string_view record, std::vector<std::string_view>& fields,
                      std::string& scratch);

// True when `text` is valid UTF-8. CSV readers check each record: JSON text is checked by simdjson.
bool is_valid_utf8(std::string_view text);

// Strips a UTF-8 byte order mark.
std::string_view strip_bom(std::string_view s);

// Appends `value` as one CSV field, quoting it when it holds a comma, quote, CR or LF.
void append_csv_field(std::string& out, std::string_view value);

}  // namespace orderpulse
