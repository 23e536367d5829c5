"""The BPMN engine glue: the only package that imports SpiffWorkflow (runtime.SpiffRuntime implements
ports.ProcedureRuntime; parser, translate, scripting, lint, dryrun and serializer split it by concern)."""
