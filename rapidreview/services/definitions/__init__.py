"""Process definitions: versions of the process, forms and templates; their checks, differences, trials and editing."""
