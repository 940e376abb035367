/* Builds a zstd dictionary whose content is CONTENT, byte for byte, with entropy tables fitted to
 * SAMPLES (one sample per line): ZDICT_finalizeDictionary, which neither the zstd CLI nor the Rust
 * crate exposes. Used once to make src/payload_dictionary_v2.zdict (see make_payload_dictionary_v2.sh);
 * the result is frozen with payload codec 2 and this tool is not part of the build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef struct { int compressionLevel; unsigned notificationLevel; unsigned dictID; } ZDICT_params_t;
size_t ZDICT_finalizeDictionary(void* dst, size_t cap, const void* content, size_t contentSize,
    const void* samples, const size_t* sampleSizes, unsigned nbSamples, ZDICT_params_t p);
unsigned ZDICT_isError(size_t);
const char* ZDICT_getErrorName(size_t);
static char* slurp(const char* path, size_t* n) {
  FILE* f = fopen(path, "rb"); if (!f) { perror(path); exit(1); }
  fseek(f, 0, SEEK_END); *n = ftell(f); fseek(f, 0, SEEK_SET);
  char* b = malloc(*n + 1); if (fread(b, 1, *n, f) != *n) exit(1); fclose(f); return b;
}
int main(int argc, char** argv) {
  if (argc != 6) { fprintf(stderr, "usage: finalize CONTENT SAMPLES LEVEL DICTID OUT\n"); return 2; }
  size_t cn, sn; char* content = slurp(argv[1], &cn); char* samples = slurp(argv[2], &sn);
  size_t sizes[100000]; unsigned n = 0; size_t start = 0, total = 0;
  for (size_t i = 0; i <= sn; i++) if (i == sn || samples[i] == '\n') {
    if (i > start) { sizes[n++] = i - start; memmove(samples + total, samples + start, i - start); total += i - start; }
    start = i + 1; }
  ZDICT_params_t p = { atoi(argv[3]), 0, (unsigned)atoi(argv[4]) };
  size_t cap = cn + 65536; char* out = malloc(cap);
  size_t r = ZDICT_finalizeDictionary(out, cap, content, cn, samples, sizes, n, p);
  if (ZDICT_isError(r)) { fprintf(stderr, "error: %s\n", ZDICT_getErrorName(r)); return 1; }
  FILE* f = fopen(argv[5], "wb"); fwrite(out, 1, r, f); fclose(f);
  fprintf(stderr, "%u samples, content %zu, dictionary %zu bytes\n", n, cn, r); return 0;
}
