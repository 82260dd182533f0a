// Marks one symbol-version requirement of an ELF64 shared object as weak (VER_FLG_WEAK in vna_flags),
// so that the dynamic loader tolerates a libstdc++ that does not define that version.
// Usage: elf_weaken_verneed <file.so> <version-name>
// Exit codes: 0 done (or already weak), 1 usage or I/O error, 2 version requirement not found.
#include <elf.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 3) { std::fprintf(stderr, "usage: %s <file.so> <version>\n", argv[0]); return 1; }
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) { std::fprintf(stderr, "cannot open %s\n", argv[1]); return 1; }
    std::vector<char> image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    if (image.size() < sizeof(Elf64_Ehdr) || std::memcmp(image.data(), ELFMAG, SELFMAG) != 0 ||
        image[EI_CLASS] != ELFCLASS64) {
        std::fprintf(stderr, "%s is not an ELF64 file\n", argv[1]); return 1;
    }
    auto* ehdr = reinterpret_cast<Elf64_Ehdr*>(image.data());
    auto* shdrs = reinterpret_cast<Elf64_Shdr*>(image.data() + ehdr->e_shoff);
    for (int s = 0; s < ehdr->e_shnum; ++s) {
        if (shdrs[s].sh_type != SHT_GNU_verneed) continue;
        const char* strtab = image.data() + shdrs[shdrs[s].sh_link].sh_offset;
        size_t need_off = shdrs[s].sh_offset;
        for (;;) {
            auto* need = reinterpret_cast<Elf64_Verneed*>(image.data() + need_off);
            size_t aux_off = need_off + need->vn_aux;
            for (int a = 0; a < need->vn_cnt; ++a) {
                auto* aux = reinterpret_cast<Elf64_Vernaux*>(image.data() + aux_off);
                if (std::strcmp(strtab + aux->vna_name, argv[2]) == 0) {
                    aux->vna_flags |= VER_FLG_WEAK;
                    std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
                    out.write(image.data(), static_cast<std::streamsize>(image.size()));
                    return out ? 0 : 1;
                }
                aux_off += aux->vna_next;
            }
            if (need->vn_next == 0) break;
            need_off += need->vn_next;
        }
    }
    std::fprintf(stderr, "%s has no requirement for version %s\n", argv[1], argv[2]);
    return 2;
}
