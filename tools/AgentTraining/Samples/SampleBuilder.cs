using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Text;
using StarKv.SyntheticGui.Screens;
using StarKv.SyntheticGui.Tasks;
using TorchSharp;

namespace StarKv.AgentTraining.Samples;

/// <summary>
/// Builds <see cref="TrainingSample"/>s from suite tasks with the runtime's own pieces: the screenshots drawn to PNG and
/// preprocessed by <see cref="Qwen2VlImageProcessor"/>, the turns' text by <see cref="AgentTurns"/>, token ids by the
/// checkpoint's <see cref="Qwen2Tokenizer"/>. The sequence is what a retained-cache agent session holds after the task:
/// the first step's turn, the reply, <c>&lt;|im_end|&gt;</c>, the next step's turn, and so on, each reply tokenised on
/// its own as the session's decoding appends it.
/// </summary>
public sealed class SampleBuilder
{
    private const string PromptEnd = "## User Instruction\n";
    private readonly Qwen25VlConfig _config;
    private readonly Qwen2Tokenizer _tokenizer;
    private readonly int _imEnd;

    public SampleBuilder(Qwen25VlConfig config, Qwen2Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tokenizer);
        _config = config;
        _tokenizer = tokenizer;
        _imEnd = tokenizer.AddedTokens[Qwen25VlChatTemplate.ImEnd];
        var probe = AgentTurns.FirstStep(AgentTurns.TaskPrompt("", "x"), 1, null);
        PrefixIds = [.. tokenizer.Encode(probe[..(probe.IndexOf(PromptEnd, StringComparison.Ordinal) + PromptEnd.Length)])];
    }

    /// <summary>The tokens every sample starts with: system turn and task prompt up to the instruction.</summary>
    public IReadOnlyList<int> PrefixIds { get; }

    public TrainingSample Build(SuiteTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var merge = _config.Vision.SpatialMergeSize;
        var images = new List<(torch.Tensor Patches, GridThw Grid, int Rows, int Cols, int ResizedWidth, int ResizedHeight)>();
        try
        {
            foreach (var step in task.Steps)
            {
                using var processed = Qwen2VlImageProcessor.Process(ScreenPainter.RenderPng(step.Screen), _config.Image, torch.CPU);
                images.Add((processed.Patches.clone().DetachFromDisposeScope(), processed.Grid, processed.Grid.MergedRows(merge), processed.Grid.MergedCols(merge), processed.ResizedWidth, processed.ResizedHeight));
            }

            return Assemble(task, images);
        }
        catch
        {
            foreach (var image in images)
            {
                image.Patches.Dispose();
            }

            throw;
        }
    }

    private TrainingSample Assemble(SuiteTask task, List<(torch.Tensor Patches, GridThw Grid, int Rows, int Cols, int ResizedWidth, int ResizedHeight)> images)
    {
        var ids = new List<int>();
        var imageRows = new List<int>();
        var labelRows = new List<long>();
        var labelTargets = new List<long>();
        var digitLabels = new List<long>();
        var attention = new List<AttentionTarget>();
        var inside = new List<InsideTarget>();
        var turns = new List<SampleTurn>();
        var imageToken = _config.Tokens.ImageTokenId;
        var taskPrompt = AgentTurns.TaskPrompt(task.TaskText, task.Steps[0].Instruction);
        for (var s = 0; s < task.Steps.Count; s++)
        {
            var step = task.Steps[s];
            var image = images[s];
            var stepText = AgentTurns.StepText(s, step.Instruction, task.TaskText);
            var turn = s == 0 ? AgentTurns.FirstStep(taskPrompt, image.Rows * image.Cols, stepText) : AgentTurns.LaterStep(image.Rows * image.Cols, stepText);
            var turnStart = ids.Count;
            var promptStart = s == 0 ? 0 : turnStart - 1; // a later turn begins with the previous reply's <|im_end|>
            ids.AddRange(_tokenizer.Encode(turn));
            imageRows.Add(ids.IndexOf(imageToken, turnStart));

            var reply = step.Reply(image.ResizedWidth, image.ResizedHeight);
            var replyIds = _tokenizer.Encode(reply);
            var replyStart = ids.Count;
            var digits = CoordinateDigitTokens(reply, replyIds);
            ids.AddRange(replyIds);
            turns.Add(new SampleTurn(promptStart, replyStart, ids.Count));
            ids.Add(_imEnd);
            for (var i = replyStart; i < ids.Count; i++)
            {
                if (digits.Contains(i - replyStart))
                {
                    digitLabels.Add(labelRows.Count);
                }

                labelRows.Add(i - 1);
                labelTargets.Add(ids[i]);
            }

            var box = step.Expected switch
            {
                ClickExpected click => click.Box,
                ScrollExpected scroll => scroll.Box,
                _ => (PixelBox?)null,
            };
            if (box is { } target)
            {
                var source = step.SourceStep ?? s;
                var cells = TargetCells(target, step.Screen, images[source]);
                var keyRows = cells.Select((on, cell) => (on, cell)).Where(c => c.on).Select(c => (long)(imageRows[source] + c.cell)).ToList();
                foreach (var first in FirstDigits(reply, replyIds))
                {
                    attention.Add(new AttentionTarget(replyStart + first - 1, keyRows));
                }

                // Only an image that follows its instruction can know which of its tokens are the target.
                if (source == s && stepText is null && s == 0)
                {
                    inside.Add(new InsideTarget(s, cells));
                }
            }
        }

        var prefix = PrefixIds.Count <= ids.Count && ids.Take(PrefixIds.Count).SequenceEqual(PrefixIds) ? PrefixIds.Count : 0;
        if (prefix == 0)
        {
            throw new InvalidOperationException($"Task {task.Id}: its token ids do not start with the shared prompt prefix.");
        }

        return new TrainingSample
        {
            Task = task,
            Ids = ids.Skip(prefix).ToList(),
            PrefixLength = prefix,
            Images = images.Select((im, i) =>
            {
                var (labels, colours) = ScreenContent.Of(task.Steps[i].Screen, im.ResizedWidth, im.ResizedHeight, im.Rows, im.Cols);
                return new SampleImage(im.Patches, im.Grid, im.Rows, im.Cols, imageRows[i] - prefix, labels, colours);
            }).ToList(),
            LabelRows = labelRows.Select(r => r - prefix).ToList(),
            LabelTargets = labelTargets,
            DigitLabels = digitLabels,
            AttentionTargets = attention.Select(a => new AttentionTarget(a.QueryRow - prefix, a.KeyRows.Select(k => k - prefix).ToList())).ToList(),
            InsideTargets = inside,
            Turns = turns.Select(t => new SampleTurn(t.PromptStart == 0 ? 0 : t.PromptStart - prefix, t.ReplyStart - prefix, t.ReplyEnd - prefix)).ToList(),
        };
    }

    /// <summary>Merged cells that lie on the box: a quarter of the cell's area inside it, or the cell holding its centre.</summary>
    internal static bool[] TargetCells(PixelBox box, Screen screen, (torch.Tensor Patches, GridThw Grid, int Rows, int Cols, int ResizedWidth, int ResizedHeight) image)
    {
        double sx = (double)image.ResizedWidth / screen.Width, sy = (double)image.ResizedHeight / screen.Height;
        double x1 = box.X1 * sx, y1 = box.Y1 * sy, x2 = (box.X2 + 1) * sx, y2 = (box.Y2 + 1) * sy;
        var (cx, cy) = box.Centre;
        var centreCol = (int)((cx + 0.5) * sx / 28);
        var centreRow = (int)((cy + 0.5) * sy / 28);
        var cells = new bool[image.Rows * image.Cols];
        for (var r = 0; r < image.Rows; r++)
        {
            for (var c = 0; c < image.Cols; c++)
            {
                var overlapX = Math.Max(0, Math.Min(x2, (c + 1) * 28.0) - Math.Max(x1, c * 28.0));
                var overlapY = Math.Max(0, Math.Min(y2, (r + 1) * 28.0) - Math.Max(y1, r * 28.0));
                cells[(r * image.Cols) + c] = overlapX * overlapY >= 28 * 28 * 0.25 || (r == centreRow && c == centreCol);
            }
        }

        return cells;
    }

    /// <summary>Indices (within the reply's tokens) of the tokens that spell the coordinates' digits.</summary>
    private HashSet<int> CoordinateDigitTokens(string reply, IReadOnlyList<int> replyIds)
    {
        var (start, end) = CoordinateSpan(reply);
        var result = new HashSet<int>();
        if (start < 0)
        {
            return result;
        }

        var offset = 0;
        for (var i = 0; i < replyIds.Count; i++)
        {
            var piece = _tokenizer.Decode([replyIds[i]]);
            if (offset >= start && offset < end && piece.Length > 0 && char.IsAsciiDigit(piece[0]))
            {
                result.Add(i);
            }

            offset += piece.Length;
        }

        return result;
    }

    /// <summary>Indices (within the reply's tokens) of the first digit of x and of y.</summary>
    private List<int> FirstDigits(string reply, IReadOnlyList<int> replyIds)
    {
        var (start, end) = CoordinateSpan(reply);
        var result = new List<int>();
        if (start < 0)
        {
            return result;
        }

        var offset = 0;
        var previousWasDigit = false;
        for (var i = 0; i < replyIds.Count; i++)
        {
            var piece = _tokenizer.Decode([replyIds[i]]);
            var isDigit = offset >= start && offset < end && piece.Length > 0 && char.IsAsciiDigit(piece[0]);
            if (isDigit && !previousWasDigit)
            {
                result.Add(i);
            }

            previousWasDigit = isDigit;
            offset += piece.Length;
        }

        return result;
    }

    /// <summary>The character span of the <c>(x,y)</c> tuple in a reply, or (−1, −1).</summary>
    private static (int Start, int End) CoordinateSpan(string reply)
    {
        var start = reply.IndexOf("start_box='(", StringComparison.Ordinal);
        if (start < 0)
        {
            return (-1, -1);
        }

        start += "start_box='(".Length;
        return (start, reply.IndexOf(')', start));
    }
}
