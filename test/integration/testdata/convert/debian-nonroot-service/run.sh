#!/bin/sh
echo "running in $1"
