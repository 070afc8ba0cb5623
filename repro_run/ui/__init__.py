"""All terminal output, one module per view; recorded text is data, never markup."""
