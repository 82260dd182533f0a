using StarKv.Grains.Errors;
using StarKv.Grains.Placement;
using StarKv.Grains.Sessions;
using StarKv.Protos.V1;
using GrainMode = StarKv.Grains.Sessions.SessionMode;
using ProtoMode = StarKv.Protos.V1.SessionMode;

namespace StarKv.Gateway.Services;

/// <summary>Translations between the public messages and the grains' records.</summary>
public static class ProtoMapping
{
    public static SessionConfig ToConfig(CreateSessionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var options = request.Options ?? new Protos.V1.SessionOptions();
        if (!Enum.IsDefined(options.Mode))
        {
            throw StarKvException.InvalidArgument(
                $"options.mode {(int)options.Mode} is not a SessionMode of the contract ({string.Join(", ", Protos.V1.SessionOptions.Descriptor.FindFieldByName("mode").EnumType.Values.Select(v => $"{v.Number} = {v.Name}"))}).");
        }

        var config = new SessionConfig
        {
            ModelId = request.Model,
            Method = string.IsNullOrEmpty(request.Method) ? "starkv" : request.Method,
            Mode = options.Mode == ProtoMode.ReprefillHistory ? GrainMode.ReprefillHistory : GrainMode.RetainedCache,
            Task = options.Task,
            Seed = options.Seed,
        };
        if (options.MaxNewTokens != 0)
        {
            config = config with { MaxNewTokens = options.MaxNewTokens };
        }

        if (options.HistoryScreenshots != 0)
        {
            config = config with { HistoryScreenshots = options.HistoryScreenshots };
        }

        return request.Budget?.KindCase switch
        {
            Budget.KindOneofCase.Ratio => config with { BudgetRatio = request.Budget.Ratio },
            Budget.KindOneofCase.Tokens => config with { BudgetTokens = request.Budget.Tokens },
            _ => config,
        };
    }

    public static SessionInfo ToInfo(SessionSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var config = snapshot.Config;
        return new SessionInfo
        {
            SessionId = SessionKey.Parse(snapshot.Key).Session,
            Model = config.ModelId,
            Method = config.Method,
            Budget = config.BudgetTokens is { } tokens ? new Budget { Tokens = tokens } : new Budget { Ratio = config.BudgetRatio },
            StepsTaken = snapshot.StepsTaken,
            KvBytes = snapshot.KvBytes,
            FullKvBytes = snapshot.FullKvBytes,
            SeenTokens = snapshot.SeenTokens,
            Silo = snapshot.Silo,
            Closed = snapshot.Closed,
            Options = new Protos.V1.SessionOptions
            {
                Task = config.Task,
                Mode = config.Mode == GrainMode.ReprefillHistory ? ProtoMode.ReprefillHistory : ProtoMode.RetainedCache,
                MaxNewTokens = config.MaxNewTokens,
                HistoryScreenshots = config.HistoryScreenshots,
                Seed = config.Seed,
            },
        };
    }

    public static StepResult ToResult(string sessionId, StepRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var figures = record.Figures;
        var result = new StepResult
        {
            SessionId = sessionId,
            StepIndex = record.StepIndex,
            Text = record.Text,
            Replayed = record.Replayed,
            ScreenshotWidth = record.ScreenshotWidth,
            ScreenshotHeight = record.ScreenshotHeight,
            Figures = new Protos.V1.StepFigures
            {
                TokensPrefilled = figures.TokensPrefilled,
                TokensDecoded = figures.TokensDecoded,
                SeenTokens = figures.SeenTokens,
                KvBytes = figures.KvBytes,
                FullKvBytes = figures.FullKvBytes,
                VisionMs = figures.VisionMs,
                PrefillMs = figures.PrefillMs,
                CompressMs = figures.CompressMs,
                DecodeMs = figures.DecodeMs,
                Silo = figures.Silo,
                PreprocessMs = figures.PreprocessMs,
                CheckpointMs = figures.CheckpointMs,
            },
        };
        result.Figures.KeptPerLayer.AddRange(figures.KeptPerLayer);
        if (record.Action is { } action)
        {
            result.Action = ToAction(action);
        }
        else
        {
            result.ParseError = record.ParseError ?? "no action";
        }

        return result;
    }

    public static SiloLoad ToSiloLoad(SiloLoadReport report, DateTime nowUtc)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new SiloLoad
        {
            Silo = report.Silo,
            Device = report.Device,
            Model = report.ModelId,
            KvBudgetBytes = report.KvBudgetBytes,
            KvBytesInUse = report.KvBytesInUse,
            Sessions = report.Sessions,
            Draining = report.Draining,
            ReportAgeMs = (long)(nowUtc - report.ReceivedUtc).TotalMilliseconds,
        };
    }

    private static ParsedAction ToAction(ParsedStepAction action)
    {
        var parsed = new ParsedAction
        {
            Kind = KindOf(action.Name),
            Name = action.Name,
            Text = action.Text ?? "",
            Thought = action.Thought ?? "",
        };
        if (action is { X: { } x, Y: { } y })
        {
            parsed.Point = new Point { X = x, Y = y };
        }

        if (action is { EndX: { } endX, EndY: { } endY })
        {
            parsed.EndPoint = new Point { X = endX, Y = endY };
        }

        return parsed;
    }

    private static ActionKind KindOf(string name) => name.ToUpperInvariant() switch
    {
        "CLICK" or "LEFT_SINGLE" => ActionKind.Click,
        "LEFT_DOUBLE" => ActionKind.LeftDouble,
        "RIGHT_SINGLE" => ActionKind.RightSingle,
        "DRAG" or "SELECT" => ActionKind.Drag,
        "HOTKEY" => ActionKind.Hotkey,
        "TYPE" => ActionKind.Type,
        "SCROLL" => ActionKind.Scroll,
        "WAIT" => ActionKind.Wait,
        "FINISHED" => ActionKind.Finished,
        "LONG_PRESS" => ActionKind.LongPress,
        "OPEN_APP" => ActionKind.OpenApp,
        "PRESS_HOME" => ActionKind.PressHome,
        "PRESS_BACK" => ActionKind.PressBack,
        _ => ActionKind.Other,
    };
}
