/*
 * TEST FIXTURE ONLY, never shipped. Wine 8 lacks ProcessPrng in
 * bcryptprimitives.dll, which Rust's std on Windows imports; without it the
 * agent dies at load under wine (status c0000135). This stand-in fills the
 * buffer from RtlGenRandom. Real Windows has the real DLL.
 */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
