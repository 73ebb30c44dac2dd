from mathlib import square
print(square(7))
