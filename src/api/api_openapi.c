/*
 * api_openapi.c — src/api/openapi.json embedded in the binary, so the
 * document served at /api/v1/openapi.json is always the one the daemon
 * was built with (the Makefile makes this object depend on the file).
 */
__asm__(".section .rodata\n"
        ".global gh_openapi_start\n"
        "gh_openapi_start:\n"
        ".incbin \"src/api/openapi.json\"\n"
        ".global gh_openapi_end\n"
        "gh_openapi_end:\n"
        ".byte 0\n"
        ".previous\n");
