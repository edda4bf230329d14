// Text that came from a tenant, a sandbox or a data dir, made safe to print on an operator's
// terminal: no byte of it can move the cursor, change colours, set the window title or forge a
// line of output. Pure.
#pragma once

#include <string>
#include <string_view>

namespace enclave {

// `s` with C0 controls (incl. newline and tab), DEL and the C1 controls (U+0080–U+009F, which
// some terminals obey like ESC sequences) written as `\n`, `\t`, `\r`, `\e` or `\xNN` / `\u{NN}`,
// a backslash as `\\`, and every byte of invalid UTF-8 as `\xNN`. Printable UTF-8 is unchanged.
std::string printable(std::string_view s);

}  // namespace enclave
