// Supplies std::ios_base_library_init(), which GCC 13+ emits a call to from every translation unit that
// includes <iostream> and which libstdc++ only exports from GLIBCXX_3.4.32 on. Older libstdc++ (GCC 12,
// Debian 12) lacks it; constructing one std::ios_base::Init does what the newer symbol does.
#include <ios>

namespace std {
void ios_base_library_init() { static ios_base::Init init; }
}
