"""A closed-form check of rankpool-fib's rows for large n, shared by the test drivers.

digits, first 20 and last 20 digits of F(n) without computing F(n): log10 F(n) =
n log10(phi) - log10(sqrt 5) (the error term is phi^-2n), and the tail by fast doubling
modulo 10^20. Milliseconds at n = 10^8, where Python's big integers would take minutes.
"""
import decimal


def fib_oracle(n):
    D = decimal.Decimal
    with decimal.localcontext() as ctx:  # every operation below at 60 digits
        ctx.prec = 60
        x = D(n) * ((1 + D(5).sqrt()) / 2).log10() - D(5).sqrt().log10()
        whole = int(x)
        head = str(int(D(10) ** (x - whole + 19)))
    m = 10 ** 20

    def doubling(k):  # (F(k), F(k+1)) mod m
        if k == 0:
            return 0, 1
        a, b = doubling(k // 2)
        c = a * ((2 * b - a) % m) % m
        d = (a * a + b * b) % m
        return (d, (c + d) % m) if k % 2 else (c, d)

    return {"digits": whole + 1, "head": head, "tail": str(doubling(n)[0]).zfill(20)}
