/* musl's math library on edge inputs (signed zeros, subnormals, the
 * smallest normals, huge values, infinities, NaN), each result in %a with
 * the floating-point exceptions it raised: for comparison byte for byte
 * with another build of the same musl. */
#include <fenv.h>
#include <math.h>
#include <stdio.h>

static const double dv[] = { 0.0, -0.0, 0x1p-1074, -0x1p-1074, 0x1p-1022, 0x1.fffffffffffffp-1023,
	0.5, 1.0, -1.0, 2.0, 0x1p-30, 3.0, 10.0, 710.0, -745.5, 0x1p1023, -0x1p1023,
	0x1.fffffffffffffp1023, INFINITY, -INFINITY, NAN };
static const float fv[] = { 0.0f, -0.0f, 0x1p-149f, -0x1p-149f, 0x1p-126f, 0x1p-120f, 0.5f, 1.0f,
	-1.0f, 2.0f, 3.0f, 89.0f, -104.0f, 0x1p127f, 0x1.fffffep127f, INFINITY, -INFINITY, NAN };
#define ND (sizeof dv / sizeof dv[0])
#define NF (sizeof fv / sizeof fv[0])

static void flags(void)
{
	int f = fetestexcept(FE_ALL_EXCEPT);
	printf(" %s%s%s%s%s\n", f & FE_INVALID ? "I" : "-", f & FE_DIVBYZERO ? "Z" : "-",
	       f & FE_OVERFLOW ? "O" : "-", f & FE_UNDERFLOW ? "U" : "-", f & FE_INEXACT ? "X" : "-");
}

#define D1(fn) for (unsigned i = 0; i < ND; i++) { volatile double x = dv[i]; \
	feclearexcept(FE_ALL_EXCEPT); double r = fn(x); printf(#fn "(%a) = %a", x, r); flags(); }
#define F1(fn) for (unsigned i = 0; i < NF; i++) { volatile float x = fv[i]; \
	feclearexcept(FE_ALL_EXCEPT); float r = fn(x); printf(#fn "(%a) = %a", (double)x, (double)r); flags(); }
#define D2(fn) for (unsigned i = 0; i < ND; i++) for (unsigned j = 0; j < ND; j += 3) { \
	volatile double x = dv[i], y = dv[j]; feclearexcept(FE_ALL_EXCEPT); double r = fn(x, y); \
	printf(#fn "(%a, %a) = %a", x, y, r); flags(); }
#define F2(fn) for (unsigned i = 0; i < NF; i++) for (unsigned j = 0; j < NF; j += 3) { \
	volatile float x = fv[i], y = fv[j]; feclearexcept(FE_ALL_EXCEPT); float r = fn(x, y); \
	printf(#fn "(%a, %a) = %a", (double)x, (double)y, (double)r); flags(); }

int main(void)
{
	D1(sqrt) D1(cbrt) D1(exp) D1(exp2) D1(expm1) D1(log) D1(log2) D1(log10) D1(log1p)
	D1(sin) D1(cos) D1(tan) D1(asin) D1(acos) D1(atan) D1(sinh) D1(cosh) D1(tanh)
	D1(asinh) D1(acosh) D1(atanh) D1(erf) D1(erfc) D1(lgamma) D1(tgamma)
	D1(rint) D1(nearbyint) D1(floor) D1(ceil) D1(trunc) D1(round) D1(logb)
	F1(sqrtf) F1(cbrtf) F1(expf) F1(exp2f) F1(expm1f) F1(logf) F1(log2f) F1(log10f) F1(log1pf)
	F1(sinf) F1(cosf) F1(tanf) F1(asinf) F1(acosf) F1(atanf) F1(sinhf) F1(coshf) F1(tanhf)
	F1(erff) F1(erfcf) F1(lgammaf) F1(tgammaf) F1(rintf) F1(logbf)
	D2(pow) D2(atan2) D2(hypot) D2(fmod) D2(remainder) D2(nextafter) D2(fdim) D2(fmax)
	F2(powf) F2(atan2f) F2(hypotf) F2(fmodf) F2(remainderf) F2(nextafterf)
	for (unsigned i = 0; i < NF; i++)
		for (unsigned j = 0; j < NF; j += 2)
			for (unsigned k = 0; k < NF; k += 2) {
				volatile float x = fv[i], y = fv[j], z = fv[k];
				feclearexcept(FE_ALL_EXCEPT);
				float r = fmaf(x, y, z);
				printf("fmaf(%a, %a, %a) = %a", (double)x, (double)y, (double)z, (double)r);
				flags();
			}
	for (unsigned i = 0; i < ND; i += 2)
		for (unsigned j = 0; j < ND; j += 2)
			for (unsigned k = 0; k < ND; k += 3) {
				volatile double x = dv[i], y = dv[j], z = dv[k];
				feclearexcept(FE_ALL_EXCEPT);
				double r = fma(x, y, z);
				printf("fma(%a, %a, %a) = %a", x, y, z, r);
				flags();
			}
	/* The case musl's own comment names. */
	volatile float a = 0x1p-120f, c = 0x1p-149f;
	feclearexcept(FE_ALL_EXCEPT);
	float r = fmaf(a, a, c);
	printf("fmaf(0x1p-120, 0x1p-120, 0x1p-149) = %a", (double)r);
	flags();
	return 0;
}
