"""``python -m dataspace`` is the ``dataspace`` command."""

from dataspace.cli import main

main()
