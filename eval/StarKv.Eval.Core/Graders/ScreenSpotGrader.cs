using StarKv.Eval.Core.Benchmarks;

namespace StarKv.Eval.Core.Graders;

/// <summary>
/// ScreenSpot ground truth: the target box in pixels and the size it is normalised by. ScreenSpot-v2 has no size
/// field (the actual image size is used, <see cref="ImageWidth"/> null); ScreenSpot-Pro normalises by its
/// <c>img_size</c>.
/// </summary>
public sealed record ScreenSpotTruth(BoxXyxy Box, double? ImageWidth, double? ImageHeight) : StepTruth;

/// <summary>
/// Point in box, every edge inclusive, as ScreenSpot defines it. Sources: GUI-KV <c>eval/screenspotv2_eval.py</c> and
/// the SeeClick <c>screenspot_test.py</c> for ScreenSpot-v2 (box <c>[x, y, w, h]</c> normalised by the actual image
/// size), ScreenSpot-Pro <c>eval_screenspot_pro.py</c> (box <c>[x1, y1, x2, y2]</c> normalised by the annotation's
/// <c>img_size</c>). The model's answer is reduced to one point (the first action's target; a box stands for its
/// centre, as the parser reads it); its relative position is the resized-image pixel over the resized size the
/// runtime's <c>smart_resize</c> gave. No point (unparseable, or an action without one) is wrong and stays in the
/// denominator ("wrong format").
/// </summary>
public sealed class ScreenSpotGrader : IStepGrader
{
    public string Name => "point-in-box";

    public string Source => "ScreenSpot-Pro eval_screenspot_pro.py; GUI-KV eval/screenspotv2_eval.py; SeeClick screenspot_test.py";

    public StepGrade Grade(ModelPrediction prediction, EvalStep step)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(step);
        var truth = (ScreenSpotTruth)step.Truth;
        if (prediction.ResizedPoint is not { } point)
        {
            return StepGrade.Wrong(prediction.Action is null ? "wrong format" : $"wrong format: '{prediction.Verb}' has no point");
        }

        var width = truth.ImageWidth ?? prediction.OriginalWidth;
        var height = truth.ImageHeight ?? prediction.OriginalHeight;
        return prediction.Inside(point, truth.Box, width, height) ? StepGrade.Right("in box") : StepGrade.Wrong("outside box");
    }
}
