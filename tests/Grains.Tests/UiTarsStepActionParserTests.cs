using StarKv.GpuWorker.Sessions;
using StarKv.Grains.Actions;

namespace StarKv.Grains.Tests;

public sealed class UiTarsStepActionParserTests
{
    private static readonly StepFigures NoFigures = new()
    {
        TokensPrefilled = 0, TokensDecoded = 0, SeenTokens = 0, KeptPerLayer = [], KvBytes = 0, FullKvBytes = 0,
        VisionMs = 0, PrefillMs = 0, CompressMs = 0, DecodeMs = 0,
    };

    [Fact]
    public void Maps_a_drag_from_resized_pixels_to_the_original_screenshot()
    {
        // Original 1000×500, the model saw 500×250: every coordinate doubles.
        var outcome = new StepOutcome(0, "Thought: move it.\nAction: drag(start_point='<point>10 20</point>', end_point='<point>100 200</point>')", 1000, 500, 500, 250, NoFigures);

        var parse = new UiTarsStepActionParser().Parse(outcome);

        Assert.Null(parse.Error);
        Assert.Equal("drag", parse.Action!.Name);
        Assert.Equal((20.0, 40.0, 200.0, 400.0), (parse.Action.X!.Value, parse.Action.Y!.Value, parse.Action.EndX!.Value, parse.Action.EndY!.Value));
        Assert.Equal("move it.", parse.Action.Thought);
    }

    [Fact]
    public void Reads_tuple_coordinates_as_resized_pixels_by_default_and_as_0_to_1000_when_configured()
    {
        // Original 672×448, the model saw 336×224: a resized pixel is two original pixels; 1000 is the full side.
        var outcome = new StepOutcome(0, "Thought: Click it.\nAction: click(start_box='(100,50)')", 672, 448, 336, 224, NoFigures);

        var resized = new UiTarsStepActionParser().Parse(outcome);
        var normalized = new UiTarsStepActionParser(Microsoft.Extensions.Options.Options.Create(new ActionParsingOptions { TupleCoordinates = "normalized1000" })).Parse(outcome);

        Assert.Equal((200.0, 100.0), (resized.Action!.X!.Value, resized.Action.Y!.Value));
        Assert.Equal((67.0, 22.0), (Math.Round(normalized.Action!.X!.Value), Math.Round(normalized.Action.Y!.Value)));
    }

    [Fact]
    public void Reports_why_an_answer_is_not_an_action()
    {
        var outcome = new StepOutcome(0, "Thought: hmm\nAction: fly(to='moon')", 100, 100, 112, 112, NoFigures);

        var parse = new UiTarsStepActionParser().Parse(outcome);

        Assert.Null(parse.Action);
        Assert.Contains("fly", parse.Error, StringComparison.Ordinal);
    }
}
