using StarKv.AgentTraining.Model;
using StarKv.AgentTraining.Samples;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Sessions;
using StarKv.GpuWorker.Text;
using StarKv.SyntheticGui.Screens;
using StarKv.SyntheticGui.Tasks;
using TorchSharp;

namespace StarKv.AgentTraining.Tests;

public sealed class SampleBuilderTests : IClassFixture<SampleBuilderTests.Agent>
{
    private readonly Agent _agent;

    public SampleBuilderTests(Agent agent) => _agent = agent;

    public sealed class Agent : IDisposable
    {
        public SmallAgent Small { get; } = new();

        public void Dispose() => Small.Dispose();
    }

    private SampleBuilder Builder => new(_agent.Small.Config, _agent.Small.Tokenizer);

    private static SuiteTask FirstOfKind(TaskKind kind, Func<SuiteTask, bool>? also = null)
    {
        for (var i = 0; ; i++)
        {
            var task = TaskGenerator.Generate(SuiteSeeds.For(SuiteSplit.Test, i), new SuiteOptions());
            if (task.Kind == kind && (also?.Invoke(task) ?? true))
            {
                return task;
            }
        }
    }

    [Fact]
    public void The_sample_is_the_text_an_agent_session_holds_with_the_reference_replies()
    {
        var task = FirstOfKind(TaskKind.Memory);
        using var sample = Builder.Build(task);
        var ids = Builder.PrefixIds.Concat(sample.Ids).ToList();
        var expected = new System.Text.StringBuilder();
        for (var s = 0; s < task.Steps.Count; s++)
        {
            var step = task.Steps[s];
            var image = sample.Images[s];
            var text = AgentTurns.StepText(s, step.Instruction, task.TaskText);
            expected.Append(s == 0
                ? AgentTurns.FirstStep(AgentTurns.TaskPrompt(task.TaskText, step.Instruction), image.Tokens, text)
                : AgentTurns.LaterStep(image.Tokens, text));
            expected.Append(step.Reply(step.Screen.Width, step.Screen.Height)).Append(Qwen25VlChatTemplate.ImEnd);
        }

        Assert.Equal(expected.ToString(), _agent.Small.Tokenizer.Decode(ids));
        Assert.Equal(task.Steps.Count, sample.Images.Count);
        for (var s = 0; s < sample.Images.Count; s++)
        {
            var image = sample.Images[s];
            Assert.Equal((task.Steps[s].Screen.Width / 28) * (task.Steps[s].Screen.Height / 28), image.Tokens);
            Assert.All(Enumerable.Range(image.FirstRow, image.Tokens), row => Assert.Equal(_agent.Small.Config.Tokens.ImageTokenId, sample.Ids[row]));
            Assert.NotEqual(_agent.Small.Config.Tokens.ImageTokenId, sample.Ids[image.FirstRow - 1]);
        }
    }

    [Fact]
    public void Labels_are_each_reply_and_its_end_and_digits_are_the_coordinates()
    {
        var task = FirstOfKind(TaskKind.Grounding);
        using var sample = Builder.Build(task);
        var step = task.Steps[0];
        var reply = step.Reply(step.Screen.Width, step.Screen.Height);
        Assert.Equal(reply + Qwen25VlChatTemplate.ImEnd, _agent.Small.Tokenizer.Decode(sample.LabelTargets.Select(t => (int)t)));
        for (var i = 0; i < sample.LabelRows.Count; i++)
        {
            Assert.Equal(sample.LabelTargets[i], sample.Ids[(int)sample.LabelRows[i] + 1]);
        }

        var coordinates = reply[(reply.LastIndexOf('(') + 1)..reply.IndexOf(')', reply.LastIndexOf('('))].Replace(",", "", StringComparison.Ordinal);
        Assert.Equal(coordinates, _agent.Small.Tokenizer.Decode(sample.DigitLabels.Select(d => (int)sample.LabelTargets[(int)d])));
    }

    [Fact]
    public void Attention_targets_point_from_the_first_digits_to_the_targets_vision_tokens()
    {
        var task = FirstOfKind(TaskKind.Memory, t => t.Steps[^1].SourceStep is not null);
        using var sample = Builder.Build(task);
        var last = task.Steps[^1];
        var source = sample.Images[last.SourceStep!.Value];
        var box = ((ClickExpected)last.Expected).Box;
        var finalTargets = sample.AttentionTargets.TakeLast(2).ToList();
        foreach (var target in finalTargets)
        {
            // The query predicts a first digit: the token after it is a digit that follows '(' or ','.
            var next = _agent.Small.Tokenizer.Decode([sample.Ids[target.QueryRow + 1]]);
            var here = _agent.Small.Tokenizer.Decode([sample.Ids[target.QueryRow]]);
            Assert.True(char.IsAsciiDigit(next[0]), next);
            Assert.True(here.EndsWith('(') || here.EndsWith(','), here);
            Assert.NotEmpty(target.KeyRows);
            var (cx, cy) = box.Centre;
            var centreCell = source.FirstRow + ((cy / 28) * source.Cols) + (cx / 28);
            Assert.Contains(centreCell, target.KeyRows);
            Assert.All(target.KeyRows, row => Assert.InRange(row, source.FirstRow, source.FirstRow + source.Tokens - 1));
        }

        // The source screen came before its instruction: no image of a later step after its instruction gets an inside target.
        Assert.All(sample.InsideTargets, t => Assert.Equal(0, t.Image));
    }

    [Fact]
    public void Target_cells_cover_the_box_by_a_quarter_of_a_cell_or_its_centre()
    {
        var screen = new Screen(Platform.Desktop, Theme.Light, 336, 224, "Home", []);
        var image = (Patches: torch.zeros(1), Grid: new StarKv.GpuWorker.Images.GridThw(1, 16, 24), Rows: 8, Cols: 12, ResizedWidth: 336, ResizedHeight: 224);
        // A box over cell (1, 2) and a sliver (7 pixels, a quarter of 28) into cell (1, 3), and 3 pixels into row 2.
        var cells = SampleBuilder.TargetCells(new PixelBox(56, 28, 90, 58), screen, image);
        var on = cells.Select((b, i) => (b, i)).Where(p => p.b).Select(p => (p.i / 12, p.i % 12)).ToList();
        Assert.Equal([(1, 2), (1, 3)], on);
        image.Patches.Dispose();
    }

    [Fact]
    public void Screen_content_names_the_label_and_colour_under_each_cells_centre()
    {
        var red = NamedColour.All.First(c => c.Name == "red");
        var save = new Widget(WidgetKind.Button, "Save", red, new PixelBox(28, 28, 83, 55)); // cells (1, 1) and (1, 2)
        var screen = new Screen(Platform.Desktop, Theme.Light, 336, 224, "Home", [save]);
        var (labels, colours) = ScreenContent.Of(screen, 336, 224, 8, 12);

        var marked = labels.Select((l, i) => (l, i)).Where(p => p.l != 0).Select(p => p.i).ToList();
        Assert.Equal([(1 * 12) + 1, (1 * 12) + 2], marked);
        Assert.Equal(labels[13], labels[14]);
        Assert.All(marked, i => Assert.Equal(1 + NamedColour.All.ToList().IndexOf(red), colours[i]));
        Assert.Equal(labels.Length - 2, colours.Count(c => c == 0));

        var other = ScreenContent.Of(screen with { Widgets = [save with { Label = "Open" }] }, 336, 224, 8, 12).Labels;
        Assert.NotEqual(labels[13], other[13]);
    }

    [Fact]
    public void A_sessions_first_prefill_is_the_samples_first_turn()
    {
        var folder = Path.Combine(Path.GetTempPath(), "starkv-agent-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            AgentFolder.Write(folder, _agent.Small.Model, _agent.Small.TokenizerJson);
            using var runtime = Qwen25VlRuntime.LoadFolder(folder, "agent", torch.CPU, torch.ScalarType.Float32);
            var task = FirstOfKind(TaskKind.Grounding);
            using var sample = Builder.Build(task);
            using var session = (AgentSession)runtime.CreateSession(new SessionOptions { Method = "full", BudgetRatio = 1, Task = task.TaskText, MaxNewTokens = 4 });
            session.Step(ScreenPainter.RenderPng(task.Steps[0].Screen), task.Steps[0].Instruction, CancellationToken.None);
            var firstTurn = Builder.PrefixIds.Concat(sample.Ids.Take((int)sample.LabelRows[0] + 1)).ToList();
            Assert.Equal(firstTurn, session.AppendedIds.Take(firstTurn.Count));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
