"""Extra CLI commands, one module each (see ``flowctl_dsl.cli.COMMAND_MODULES``)."""
