using StarKv.Eval.Core.Benchmarks;
using StarKv.Eval.Core.Graders;
using StarKv.GpuWorker.Actions;

namespace StarKv.Eval.Tests.Graders;

/// <summary>Builds predictions from hand-written answers.</summary>
internal static class Predictions
{
    /// <summary>An answer for a screenshot of <paramref name="width"/> × <paramref name="height"/> that the model saw at <paramref name="resizedWidth"/> × <paramref name="resizedHeight"/>.</summary>
    public static ModelPrediction Answer(string action, int width, int height, int resizedWidth, int resizedHeight) =>
        ModelPrediction.Parse("Thought: hand-written.\nAction: " + action, width, height, resizedWidth, resizedHeight, CoordinateSpace.ResizedPixels);

    /// <summary>An answer on an image the model saw at its own size.</summary>
    public static ModelPrediction Answer(string action, int width, int height) => Answer(action, width, height, width, height);

    public static EvalStep Step(StepTruth truth) => new("s", StepImage.FromBytes("none", []), "", truth);
}
