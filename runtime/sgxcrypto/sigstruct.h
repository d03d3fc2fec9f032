/* SIGSTRUCT field offsets and constants (sgx-spec.md §6, 1808 bytes). */
#ifndef SCONE_SGXCRYPTO_SIGSTRUCT_H
#define SCONE_SGXCRYPTO_SIGSTRUCT_H

#define SIGSTRUCT_SIZE 1808u
#define SIG_HEADER 0u              /* 16 */
#define SIG_VENDOR 16u             /* u32: 0 or 0x8086 */
#define SIG_DATE 20u               /* u32 BCD */
#define SIG_HEADER2 24u            /* 16 */
#define SIG_SWDEFINED 40u          /* u32 */
#define SIG_RESERVED1 44u          /* 84 */
#define SIG_MODULUS 128u           /* 384, little-endian */
#define SIG_EXPONENT 512u          /* u32: 3 */
#define SIG_SIGNATURE 516u         /* 384, little-endian */
#define SIG_MISCSELECT 900u        /* u32 */
#define SIG_MISCMASK 904u          /* u32 */
#define SIG_CET_ATTRIBUTES 908u    /* u8 */
#define SIG_CET_ATTRIBUTES_MASK 909u
#define SIG_RESERVED2 910u         /* 2 */
#define SIG_ISVFAMILYID 912u       /* 16 */
#define SIG_ATTRIBUTES 928u        /* FLAGS u64, XFRM u64 @936 */
#define SIG_ATTRIBUTEMASK 944u     /* FLAGS mask u64, XFRM mask u64 @952 */
#define SIG_ENCLAVEHASH 960u       /* 32 */
#define SIG_RESERVED3 992u         /* 16 */
#define SIG_ISVEXTPRODID 1008u     /* 16 */
#define SIG_ISVPRODID 1024u        /* u16 */
#define SIG_ISVSVN 1026u           /* u16 */
#define SIG_RESERVED4 1028u        /* 12 */
#define SIG_Q1 1040u               /* 384, little-endian */
#define SIG_Q2 1424u               /* 384, little-endian */
#define SIG_KEY_BYTES 384u

/* The signed bytes: sig[0:128] || sig[900:1028]. */
#define SIG_SIGNED1_LEN 128u
#define SIG_SIGNED2_OFF 900u
#define SIG_SIGNED2_LEN 128u

#define SGX_ATTR_INIT 0x01ull
#define SGX_ATTR_DEBUG 0x02ull
#define SGX_ATTR_MODE64BIT 0x04ull
#define SGX_ATTR_PROVISIONKEY 0x10ull
#define SGX_ATTR_EINITTOKENKEY 0x20ull
#define SGX_ATTR_CET 0x40ull
#define SGX_ATTR_KSS 0x80ull
#define SGX_ATTR_AEXNOTIFY 0x400ull

#endif
