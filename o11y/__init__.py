"""The roof: the `o11y` command, the processes it serves, `o11y dev` and its embedded components, the docs generators.
Imports every package; nothing imports it."""
