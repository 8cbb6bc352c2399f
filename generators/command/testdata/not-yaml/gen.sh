#!/bin/sh
echo "Rendering templates..."
echo "done."
