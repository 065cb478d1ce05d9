#!/bin/sh
echo "hello from the $1 image (base: $(cat /app/shared/config.txt))"
