"""User code in configs: the Python expression sandbox, reduce code, expression modules, and the
child process that runs them under time and memory budgets."""
