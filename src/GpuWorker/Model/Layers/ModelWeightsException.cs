namespace StarKv.GpuWorker.Model.Layers;

/// <summary>A weights dictionary that lacks a tensor the model needs, or holds one of the wrong shape.</summary>
public sealed class ModelWeightsException : Exception
{
    public ModelWeightsException(string message) : base(message) { }

    public ModelWeightsException(string message, Exception inner) : base(message, inner) { }

    public ModelWeightsException() { }
}
