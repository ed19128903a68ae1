/*
 * hub_kgpu_launcher.c — src/hub/kernel_launcher.py embedded in the binary,
 * so the launcher a workspace's kernelspec runs is always the one the
 * daemon was built with (the Makefile makes this object depend on it).
 */
__asm__(".section .rodata\n"
        ".global gh_kernel_launcher_start\n"
        "gh_kernel_launcher_start:\n"
        ".incbin \"src/hub/kernel_launcher.py\"\n"
        ".global gh_kernel_launcher_end\n"
        "gh_kernel_launcher_end:\n"
        ".byte 0\n"
        ".previous\n");
