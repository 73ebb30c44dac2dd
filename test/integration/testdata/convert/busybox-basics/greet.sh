#!/bin/sh
echo "${GREETING:-hi}" "$@"
