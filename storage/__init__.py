"""ClickHouse, the floor every process stands on: each table declared once, its migrations, the cluster DDL, the schema check.

A table is one `Table` (name, columns with types and comments, engine, keys, retention); every other package takes
table handles from here and never writes a table's name. storage/ imports runtime/ and schemas/ only.
"""
