"""ELT: the SQLX compiler and the engines that execute its action graph."""
