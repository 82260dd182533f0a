namespace StarKv.Eval.Core.Benchmarks;

/// <summary>A data folder that is not the layout the chosen benchmark reads; the message names what is missing or wrong.</summary>
public sealed class DatasetLayoutException : Exception
{
    public DatasetLayoutException()
    {
    }

    public DatasetLayoutException(string message)
        : base(message)
    {
    }

    public DatasetLayoutException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
