#!/bin/sh
# Prints 100 MB.
exec head -c 100000000 /dev/zero
