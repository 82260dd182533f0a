using StarKv.ModelDump;

return ModelDumpCommand.Create(Console.Out, Console.Error).Parse(args).Invoke();
